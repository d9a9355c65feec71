"""`/logs` and `/runs`: what an admin sees, filters, keyset paging, the live tail."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from nicegui import ui
from nicegui.testing import User

from dashboard.data.automation import (
    finish_automation_run,
    log_automation_event,
    start_automation_run,
)
from dashboard.live.service import start_live, stop_live
from dashboard.runtime import Runtime
from tests.admin_session import SignedIn, settle, table_rows

pytestmark = pytest.mark.usefixtures("app_runtime")  # opens the runtime for the User fixture


@pytest.fixture
async def lines(app_runtime: Runtime) -> list[int]:
    """120 log lines: every 4th an error from implementation, the rest info."""
    ids = []
    for i in range(120):
        process, level = ("implementation", "error") if i % 4 == 0 else ("system", "info")
        ids.append(await log_automation_event(app_runtime.api, process, level, f"line {i:03d}"))
    return ids


@pytest.fixture
async def live_bus(app_runtime: Runtime) -> AsyncIterator[None]:
    bus = await start_live(app_runtime)
    assert await bus.wait_for(lambda: bus.connected, 5)
    yield
    await stop_live(app_runtime)


async def open_logs(user: User, path: str = "/logs") -> None:
    await user.open(path)
    await user.should_see(marker="logs-search", retries=100)
    await settle(lambda: _has_rows(user))


async def _has_rows(user: User) -> bool:
    return bool(user.find(ui.table).elements) and bool(table_rows(user))


async def test_the_newest_page_shows_first_with_its_zone(
    user: User, admin: SignedIn, lines: list[int]
) -> None:
    await open_logs(user)
    rows = table_rows(user)
    assert [r["id"] for r in rows] == sorted(lines, reverse=True)[:50]
    assert rows[0]["created_at"].endswith(" UTC")
    await user.should_see("rows 1-50 of more than 50")


async def test_paging_walks_into_history_by_keyset(
    user: User, admin: SignedIn, lines: list[int]
) -> None:
    await open_logs(user)
    user.find(ui.table).trigger("request", {"pagination": {"page": 3, "rowsPerPage": 50}})
    await settle(lambda: _first_id_is(user, sorted(lines, reverse=True)[100]))
    assert len(table_rows(user)) == 20
    await user.should_see("rows 101-120 of 120")


class SlowFirstPage:
    """The real backend; reads of the newest page wait for `release` while `hold` is set."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.hold = False
        self.held = asyncio.Event()
        self.release = asyncio.Event()

    async def select(self, table: str, **kwargs: Any) -> Any:
        newest = not any(f.column == "id" for f in kwargs.get("filters") or [])
        if self.hold and table == "automation_logs" and newest:
            self.held.set()
            await self.release.wait()
        return await self.inner.select(table, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_a_page_asked_for_later_is_not_overwritten_by_an_earlier_slower_read(
    user: User, admin: SignedIn, lines: list[int], app_runtime: Runtime
) -> None:
    await open_logs(user)
    real = app_runtime.api
    app_runtime.api = slow = SlowFirstPage(real)  # type: ignore[assignment]
    try:
        slow.hold = True
        table = user.find(ui.table)
        table.trigger("request", {"pagination": {"page": 1, "rowsPerPage": 50}})
        await asyncio.wait_for(slow.held.wait(), 5)  # page 1 is being read (held)
        table.trigger("request", {"pagination": {"page": 3, "rowsPerPage": 50}})
        third = sorted(lines, reverse=True)[100]
        await settle(lambda: _first_id_is(user, third))
        slow.release.set()  # the older read of page 1 now comes back
        await asyncio.sleep(0.3)  # the point: the late page-1 read lands and changes nothing
        assert table_rows(user)[0]["id"] == third
        await user.should_see("rows 101-120 of 120")
    finally:
        app_runtime.api = real


async def _first_id_is(user: User, wanted: int) -> bool:
    rows = table_rows(user)
    return bool(rows) and rows[0]["id"] == wanted


async def test_level_process_and_text_filters_narrow_the_rows(
    user: User, admin: SignedIn, lines: list[int]
) -> None:
    await open_logs(user, "/logs?process=implementation")
    assert {r["process"] for r in table_rows(user)} == {"implementation"}
    assert len(table_rows(user)) == 30
    user.find(marker="logs-search").type("line 04").trigger("keydown.enter")
    await settle(lambda: _count_is(user, 3))
    assert {r["message"] for r in table_rows(user)} == {"line 040", "line 044", "line 048"}


async def _count_is(user: User, n: int) -> bool:
    return len(table_rows(user)) == n


async def test_a_search_with_wildcards_is_taken_literally(
    user: User, admin: SignedIn, lines: list[int]
) -> None:
    await open_logs(user)
    user.find(marker="logs-search").type("%").trigger("keydown.enter")
    await user.should_see("no rows match", retries=50)


async def test_a_bad_run_id_is_explained_at_the_field(
    user: User, admin: SignedIn, lines: list[int]
) -> None:
    await open_logs(user)
    user.find(marker="logs-run").type("abc").trigger("keydown.enter")
    await user.should_see("Run id must be a whole number like 42")


async def test_a_bad_run_id_leaves_no_lines_of_the_last_filters(
    user: User, admin: SignedIn, lines: list[int]
) -> None:
    await open_logs(user)
    user.find(marker="logs-run").type("abc").trigger("keydown.enter")
    await user.should_see("Fix the filters above to see log lines.")
    assert table_rows(user) == []


async def test_the_tail_keeps_the_filters_applied_not_text_typed_since(
    user: User,
    admin: SignedIn,
    lines: list[int],
    live_bus: None,
    app_runtime: Runtime,
) -> None:
    await open_logs(user)
    user.find(marker="logs-search").type("line 04")  # typed, never searched
    new_id = await log_automation_event(app_runtime.api, "system", "warning", "fresh line")
    await settle(lambda: _first_id_is(user, new_id), timeout=3)  # not filtered out
    assert len(table_rows(user)) == 50


async def test_new_lines_join_the_tail_as_they_commit(
    user: User,
    admin: SignedIn,
    lines: list[int],
    live_bus: None,
    app_runtime: Runtime,
) -> None:
    await open_logs(user)
    new_id = await log_automation_event(app_runtime.api, "system", "warning", "fresh line")
    await settle(lambda: _first_id_is(user, new_id), timeout=3)


async def test_a_page_asked_for_past_an_empty_view_follows_the_tail_on_page_one(
    user: User,
    admin: SignedIn,
    lines: list[int],
    live_bus: None,
    app_runtime: Runtime,
) -> None:
    await open_logs_empty(user, "/logs?process=outreach")  # no outreach lines yet
    table = user.find(ui.table)
    table.trigger("request", {"pagination": {"page": 3, "rowsPerPage": 50}})
    await asyncio.sleep(0.2)  # the request lands on page 1, the only page there is
    # more lines than a notice carries ids for: the page re-reads its first page
    async with await psycopg.AsyncConnection.connect(app_runtime.database_url) as conn:
        cur = await conn.execute(
            "insert into public.automation_logs (process, level, message)"
            " select 'outreach', 'info', 'burst ' || i from generate_series(1, 60) i"
            " returning id"
        )
        newest = max(r[0] for r in await cur.fetchall())
    await settle(lambda: _first_id_is(user, newest), timeout=3)


async def open_logs_empty(user: User, path: str) -> None:
    await user.open(path)
    await user.should_see("no rows match", retries=100)


async def test_a_paused_tail_holds_still(
    user: User,
    admin: SignedIn,
    lines: list[int],
    live_bus: None,
    app_runtime: Runtime,
) -> None:
    await open_logs(user)
    user.find(marker="logs-pause").click()
    await log_automation_event(app_runtime.api, "system", "warning", "held line")
    await user.should_not_see("held line", retries=10)
    assert table_rows(user)[0]["id"] == max(lines)


async def test_runs_show_duration_counts_errors_and_their_own_logs(
    user: User,
    admin: SignedIn,
    app_runtime: Runtime,
) -> None:
    run_id = await start_automation_run(app_runtime.api, "implementation", "w-1", "manual")
    await log_automation_event(app_runtime.api, "implementation", "error", "boom", run_id)
    await log_automation_event(app_runtime.api, "system", "info", "not this run")
    await finish_automation_run(app_runtime.api, run_id, "failed", 7, 2, "provider down")
    await user.open(f"/runs?run={run_id}")
    await user.should_see(f"Logs of run #{run_id}", retries=100)
    [run] = table_rows(user, 0)
    assert (run["status"], run["items_processed"], run["items_failed"]) == ("failed", 7, 2)
    assert run["error"] == "provider down" and run["duration"].endswith("s")
    await settle(lambda: _async_true(len(table_rows(user, 1)) == 1))
    assert table_rows(user, 1)[0]["message"] == "boom"


async def _async_true(value: bool) -> bool:
    return value


async def test_a_bad_run_in_the_address_is_explained(user: User, admin: SignedIn) -> None:
    await user.open("/runs?run=x1")
    await user.should_see("Cannot open run 'x1': run must be a whole number like 42", retries=100)
