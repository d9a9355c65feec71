"""A page dies with its session (issue 17, point 2), in-process: NiceGUI's User fixture
opens real pages through the real guard on a real database; the reaper is started as
the app starts it, but with a long interval, so each test runs its sweeps itself.

For each way a session ends, the open page is deleted on the server and its browser
sent to the login page; a page whose session holds, and the sign-in pages, are left
alone; a live feed pushes nothing to a page whose session ended, even before a sweep.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from nicegui import core, ui
from nicegui.client import Client
from nicegui.testing import User

from dashboard.auth import open_pages
from dashboard.auth.admins import reset_mfa
from dashboard.auth.open_pages import PageReaper, page_is_live
from dashboard.live.service import start_live, stop_live
from dashboard.runtime import Runtime
from tests.admin_session import SignedIn, settle, sign_in_admin, table_rows
from tests.dbutil import sql

pytestmark = pytest.mark.usefixtures("app_runtime")  # opens the runtime for the User fixture


@pytest.fixture
async def reaper() -> AsyncIterator[PageReaper]:
    started = open_pages.start_page_reaper(sweep_seconds=3600)
    yield started
    open_pages.stop_page_reaper()


async def logout(admin: SignedIn, runtime: Runtime) -> None:
    await admin.sign_out()


async def sign_out_everywhere(admin: SignedIn, runtime: Runtime) -> None:
    await admin.auth.sessions.revoke_all(admin.user_id, "sign_out_everywhere")


async def idle_timeout(admin: SignedIn, runtime: Runtime) -> None:
    admin.clock.advance(31 * 60)


async def absolute_expiry(admin: SignedIn, runtime: Runtime) -> None:
    sql(
        runtime.database_url,
        "update admin_private.sessions set expires_at = now() - interval '1 second'"
        " where user_id = %s",
        (admin.user_id,),
    )


async def mfa_reset(admin: SignedIn, runtime: Runtime) -> None:
    await asyncio.to_thread(reset_mfa, runtime.database_url, admin.email, admin.email)


async def admin_removed(admin: SignedIn, runtime: Runtime) -> None:
    sql(runtime.database_url, "delete from auth.users where id = %s", (admin.user_id,))


ENDINGS: list[Callable[[SignedIn, Runtime], Awaitable[None]]] = [
    logout,
    sign_out_everywhere,
    idle_timeout,
    absolute_expiry,
    mfa_reset,
    admin_removed,
]


@pytest.mark.parametrize("end_session", ENDINGS, ids=lambda f: f.__name__)
async def test_when_a_session_ends_its_open_page_is_deleted_and_sent_to_the_login_page(
    user: User,
    admin: SignedIn,
    app_runtime: Runtime,
    reaper: PageReaper,
    end_session: Callable[[SignedIn, Runtime], Awaitable[None]],
) -> None:
    page = await user.open("/audit")
    assert await reaper.sweep() == 0  # the session holds: nothing ends
    assert not page.is_deleted
    await end_session(admin, app_runtime)
    assert await reaper.sweep() == 1
    assert not page_is_live(page)  # at once: no feed pushes to it from here on
    await settle(lambda: _deleted(page))
    assert page.id not in Client.instances
    await user.should_see(marker="password", retries=50)  # the login page, saying why
    await user.should_see("Your session has ended. Sign in again.")


async def test_a_page_of_another_session_and_the_login_page_stay_open(
    user: User, admin: SignedIn, app_runtime: Runtime, reaper: PageReaper
) -> None:
    stranger = httpx.AsyncClient(transport=httpx.ASGITransport(core.app), base_url="http://test")
    login = await User(stranger).open("/login")
    page = await user.open("/logs")
    other = await sign_in_admin(app_runtime, "other@cliftonsites.test")
    await other.sign_out()  # another admin's session ends
    assert await reaper.sweep() == 0
    assert not page.is_deleted and not login.is_deleted
    assert page_is_live(page) and page_is_live(login)


async def test_a_live_feed_pushes_nothing_to_a_page_whose_session_ended_before_any_sweep(
    user: User, admin: SignedIn, app_runtime: Runtime, reaper: PageReaper
) -> None:
    bus = await start_live(app_runtime)
    try:
        assert await bus.wait_for(lambda: bus.connected, 5)
        page = await user.open("/logs")
        sql(app_runtime.database_url, "select public.log_automation_event('system', 'info', 'a')")
        await settle(lambda: _shows(user, "a"))  # the tail follows while the session holds
        table = user.find(ui.table).elements.pop()
        await admin.sign_out()
        sql(app_runtime.database_url, "select public.log_automation_event('system', 'info', 'b')")
        await settle(lambda: _deleted(page))  # the feed's own session read ended the page
        assert "b" not in [row["message"] for row in table.rows]
    finally:
        await stop_live(app_runtime)


async def _shows(user: User, message: str) -> bool:
    return message in [row["message"] for row in table_rows(user)]


async def _deleted(page: Client) -> bool:
    return page.is_deleted
