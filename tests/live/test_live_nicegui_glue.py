"""The bus seen from browsers (NiceGUI's simulated users on a real database): new rows
appear without a reload, the banner follows the connection, 20 browsers cost one
snapshot query per burst, and a closed browser leaves no subscription behind."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import psycopg
import pytest
from nicegui import core, ui
from nicegui.testing.user import User
from nicegui.testing.user_simulation import user_simulation

from dashboard.backends.base import BackendError
from dashboard.components.errors import report_errors
from dashboard.components.live import watch
from dashboard.live.bus import LiveBus
from dashboard.live.nicegui_glue import BANNER_TEXT, live, reconnecting_banner, watch_table
from dashboard.live.postgres_source import PostgresChangeSource
from dashboard.live.service import start_live, stop_live
from dashboard.runtime import Runtime, close_runtime, open_runtime
from dashboard.settings import load_settings
from tests.faults import expect_logged_errors

INSERT_LOG = (
    "insert into public.automation_logs (process, level, message) values ('system', 'info', %s)"
    " returning id"
)


@pytest.fixture
async def runtime(app_db_url: str) -> AsyncIterator[Runtime]:
    rt = await open_runtime(load_settings(database_url=app_db_url), run_migrations=False)

    async def count_logs() -> int:
        page = await rt.db.select("automation_logs", columns="id", limit=1, count=True)
        return page.count or 0

    bus = await start_live(rt, fetch=count_logs)
    assert await bus.wait_for(lambda: bus.connected and bus.version >= 1, 5)
    yield rt
    await stop_live(rt)
    await close_runtime()


def live_page() -> None:
    reconnecting_banner()
    ui.label().bind_text_from(live, "snapshot", backward=lambda n: f"{n} log lines")
    tail = ui.column()

    def on_log(change: Any) -> None:
        with tail:
            ui.label(f"new log line {change['ids'][0]}")

    watch_table("automation_logs", on_log)


async def commit_log(url: str, message: str) -> int:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        row = await (await conn.execute(INSERT_LOG, (message,))).fetchone()
    assert row is not None
    return int(row[0])


async def test_a_committed_row_appears_without_a_reload(runtime: Runtime) -> None:
    async with user_simulation(root=live_page) as user:
        await user.open("/")
        await user.should_see("0 log lines")
        await user.should_not_see(BANNER_TEXT)
        log_id = await commit_log(runtime.database_url, "hello")
        await user.should_see(f"new log line {log_id}", retries=30)
        await user.should_see("1 log lines", retries=30)


async def test_the_banner_shows_while_the_listener_is_down_and_goes_once_live(
    runtime: Runtime,
) -> None:
    bus = runtime.services["live"]
    assert isinstance(bus.source, PostgresChangeSource)
    bus.backoff.first = 0.5  # long enough for the simulated user to look
    async with user_simulation(root=live_page) as user:
        await user.open("/")
        async with await psycopg.AsyncConnection.connect(runtime.database_url) as conn:
            await conn.execute("select pg_terminate_backend(%s)", (bus.source.backend_pid,))
        await user.should_see(BANNER_TEXT, retries=20)
        await user.should_not_see(BANNER_TEXT, retries=50)
        log_id = await commit_log(runtime.database_url, "after the drop")
        await user.should_see(f"new log line {log_id}", retries=30)


async def test_twenty_browsers_cost_one_snapshot_query_per_burst_and_leave_nothing_behind(
    runtime: Runtime,
) -> None:
    bus: LiveBus[Any] = runtime.services["live"]
    baseline = bus.stats()["subscribers"]
    async with user_simulation(root=live_page) as first:
        users = [first] + [
            User(httpx.AsyncClient(transport=httpx.ASGITransport(core.app), base_url="http://test"))
            for _ in range(19)
        ]
        for user in users:
            await user.open("/")
        assert bus.stats()["subscribers"] == baseline + 20
        before = bus.snapshot_queries
        async with await psycopg.AsyncConnection.connect(runtime.database_url) as conn:
            for i in range(50):
                await conn.execute(INSERT_LOG, (f"burst {i}",))
        for user in users:
            await user.should_see("50 log lines", retries=30)
        assert bus.snapshot_queries - before == 1
        for user in users:
            assert user.client is not None
            user.client.delete()
    assert bus.stats()["subscribers"] == baseline


async def test_a_live_refresh_that_fails_is_told_to_the_admin(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    """`components.live.watch` runs a page's refresh after a change; when that refresh
    fails, the page says so (as a failing click does) instead of staying silently stale."""
    refreshes: list[int] = []

    async def refresh() -> None:
        refreshes.append(1)
        raise BackendError("XX000", "the log table is unavailable")

    def page() -> None:
        report_errors(to_admin=True)
        ui.label("watching")
        watch(["automation_logs"], refresh)

    async with user_simulation(root=page) as user:
        await user.open("/")
        await user.should_see("watching")
        await commit_log(runtime.database_url, "a change")
        await user.should_see(
            "The database refused this: the log table is unavailable.", retries=50
        )
    assert refreshes
    expect_logged_errors(caplog, "the log table is unavailable")
