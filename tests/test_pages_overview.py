"""The overview page: what a signed-in admin sees, and what its command buttons write."""

from __future__ import annotations

import asyncio
from typing import Any

from nicegui import ui
from nicegui.testing import User

from dashboard.backends.base import Filter
from dashboard.data.automation import report_automation_heartbeat
from dashboard.runtime import Runtime
from tests import admin_session, test_auth_helpers
from tests.admin_session import SignedIn

app_runtime = test_auth_helpers.app_runtime  # autouse: opens the runtime
admin = admin_session.admin


async def open_overview(user: User) -> None:
    """Open `/` and wait until the async page has drawn its command buttons."""
    await user.open("/")
    await user.should_see(marker="cmd-implementation-pause", retries=100)


async def commands(runtime: Runtime, **eq: Any) -> list[dict[str, Any]]:
    filters = [Filter(k, "eq", v) for k, v in eq.items()]
    return (await runtime.api.select("automation_commands", filters=filters)).rows


async def settle(predicate: Any, timeout: float = 3.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_an_admin_sees_queue_progress_status_and_config(
    user: User,
    admin: SignedIn,
    app_runtime: Runtime,
) -> None:
    await report_automation_heartbeat(app_runtime.api, "implementation", "w-1", "running")
    await user.open("/")
    await user.should_see("Queue")
    await user.should_see("Identification")
    await user.should_see("Implementation")
    await user.should_see("running")
    await user.should_see("Config")
    await user.should_see("daily deploy limit")
    await user.should_see("Latest runs")
    assert len(user.find(ui.plotly).elements) == 3


async def test_a_stale_worker_shows_a_stale_banner(
    user: User,
    admin: SignedIn,
    app_runtime: Runtime,
) -> None:
    await user.open("/")
    # Neither process ever sent a heartbeat: both are stale.
    await user.should_see("Stale: no heartbeat for never")


async def test_pause_sends_a_command_as_the_admin(
    user: User,
    admin: SignedIn,
    app_runtime: Runtime,
) -> None:
    await open_overview(user)
    user.find(marker="cmd-implementation-pause").click()
    await settle(lambda: _has(app_runtime, command="pause"))
    [row] = await commands(app_runtime, command="pause")
    assert row["process"] == "implementation" and row["requested_by"] == admin.email
    await user.should_see("Sent pause to implementation")


async def _has(runtime: Runtime, **eq: Any) -> bool:
    return bool(await commands(runtime, **eq))


async def test_stop_first_shows_its_impact_and_needs_a_fresh_code(
    user: User,
    admin: SignedIn,
    app_runtime: Runtime,
) -> None:
    await open_overview(user)
    user.find(marker="cmd-implementation-stop").click()
    await user.should_see(marker="step-up-impact", retries=20)
    await user.should_see("Stops 0 implementation worker(s)")
    user.find(marker="step-up-code").type(admin.fresh_code())
    user.find(marker="step-up-confirm").click()
    await settle(lambda: _has(app_runtime, command="stop"))
    status = (await app_runtime.api.select("automation_status")).rows
    assert {r["process"]: r["desired_state"] for r in status}["implementation"] == "stopped"


async def test_a_wrong_code_sends_nothing(
    user: User,
    admin: SignedIn,
    app_runtime: Runtime,
) -> None:
    await open_overview(user)
    user.find(marker="cmd-implementation-reset_stale").click()
    await user.should_see("started business(es) older than the stale limit", retries=20)
    user.find(marker="step-up-code").type("000000")
    user.find(marker="step-up-confirm").click()
    await user.should_see("nothing was sent", retries=20)
    assert await commands(app_runtime) == []


async def test_a_malformed_code_is_refused_at_the_field(
    user: User,
    admin: SignedIn,
    app_runtime: Runtime,
) -> None:
    await open_overview(user)
    user.find(marker="cmd-identification-stop").click()
    await user.should_see(marker="step-up-code", retries=20)
    user.find(marker="step-up-code").type("12ab")
    user.find(marker="step-up-confirm").click()
    await user.should_see("Enter the 6-digit code from your authenticator app")
    assert await commands(app_runtime) == []


async def test_a_page_left_open_after_logout_cannot_act(
    user: User,
    admin: SignedIn,
    app_runtime: Runtime,
) -> None:
    await user.open("/")
    await admin.sign_out()
    await user.should_see(marker="cmd-implementation-pause", retries=100)
    user.find(marker="cmd-implementation-pause").click()
    await user.should_see("Your session has ended", retries=20)
    assert await commands(app_runtime) == []


async def test_open_overviews_share_one_chart_read_per_interval(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    from dashboard.pages.overview import shared_charts

    await open_overview(user)
    charts = shared_charts()
    await settle(lambda: _async(charts.reads == 1))  # the first page's charts are drawn
    await open_overview(user)  # a second page (and its charts) within the interval
    await asyncio.sleep(0.5)
    assert user.find(ui.plotly).elements and charts.reads == 1
    assert charts.data is not None and await charts.get() is charts.data
    charts.read_at -= 60  # the interval has passed
    await charts.get()
    assert charts.reads == 2


async def _async(value: bool) -> bool:
    return value
