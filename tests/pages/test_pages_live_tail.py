"""The live tails of /logs, /runs and /audit: a burst's rows are read once for every
open browser (the bus's shared row feed) and each page filters them in memory, so the
number of database queries does not grow with the number of admins watching."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import psycopg
import pytest
from nicegui import core, ui
from nicegui.testing import User

from dashboard.backends.base import Backend, Page
from dashboard.data.automation import (
    finish_automation_run,
    log_automation_event,
    start_automation_run,
)
from dashboard.live.service import start_live, stop_live
from dashboard.runtime import Runtime
from tests.admin_session import SignedIn, settle, table_rows

pytestmark = pytest.mark.usefixtures("app_runtime")  # opens the runtime for the User fixture

BURST = (
    "insert into public.automation_logs (process, level, message)"
    " select 'system', 'info', 'burst ' || i from generate_series(1, %s) i"
)


class CountingBackend:
    """The real backend, counting the selects each table gets (nothing is faked)."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.selects: Counter[str] = Counter()

    async def select(self, table: str, **kwargs: Any) -> Page:
        self.selects[table] += 1
        return await self.inner.select(table, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
async def counting(app_runtime: Runtime) -> AsyncIterator[CountingBackend]:
    real = app_runtime.api
    app_runtime.api = counter = CountingBackend(real)  # type: ignore[assignment]
    bus = await start_live(app_runtime)
    assert await bus.wait_for(lambda: bus.connected, 5)
    yield counter
    await stop_live(app_runtime)
    app_runtime.api = real


async def browsers(first: User, admin: SignedIn, n: int) -> list[User]:
    users = [first]
    for _ in range(n - 1):
        client = httpx.AsyncClient(transport=httpx.ASGITransport(core.app), base_url="http://test")
        client.cookies.set("cs_session", admin.token)
        users.append(User(client))
    return users


async def open_tail(user: User, path: str) -> None:
    await user.open(path)
    await settle(lambda: _shown(user))


async def _shown(user: User) -> bool:
    return bool(user.find(ui.table).elements) and bool(table_rows(user))


async def newest_is(users: Sequence[User], wanted: int) -> bool:
    return all(table_rows(u) and table_rows(u)[0]["id"] == wanted for u in users)


async def burst_cost(
    runtime: Runtime, counter: CountingBackend, users: list[User], size: int = 50
) -> int:
    """automation_logs queries caused by one statement inserting `size` lines."""
    before = counter.selects["automation_logs"]
    async with await psycopg.AsyncConnection.connect(runtime.database_url) as conn:
        await conn.execute(BURST, (size,))
        row = await (await conn.execute("select max(id) from public.automation_logs")).fetchone()
    assert row is not None
    await settle(lambda: newest_is(users, int(row[0])), timeout=10)
    return counter.selects["automation_logs"] - before


@pytest.mark.parametrize("n", [1, 10])
async def test_a_burst_costs_one_query_however_many_admins_watch(
    user: User, admin: SignedIn, app_runtime: Runtime, counting: CountingBackend, n: int
) -> None:
    await log_automation_event(app_runtime.api, "system", "info", "first line")
    users = await browsers(user, admin, n)
    for u in users:
        await open_tail(u, "/logs")
    assert await burst_cost(app_runtime, counting, users) == 1
    assert all(len(table_rows(u)) == 50 for u in users)
    assert all(table_rows(u)[0]["message"] == "burst 50" for u in users)


async def test_a_filtered_tail_takes_only_matching_lines_from_the_feed(
    user: User, admin: SignedIn, app_runtime: Runtime, counting: CountingBackend
) -> None:
    await log_automation_event(app_runtime.api, "implementation", "error", "old failure")
    await open_tail(user, "/logs?process=implementation")
    other = await log_automation_event(app_runtime.api, "system", "error", "not ours")
    ours = await log_automation_event(app_runtime.api, "implementation", "error", "50% done")
    await settle(lambda: newest_is([user], ours))
    assert other not in {r["id"] for r in table_rows(user)}
    assert [r["message"] for r in table_rows(user)] == ["50% done", "old failure"]


async def test_a_statement_touching_more_than_50_rows_reloads_the_first_page(
    user: User, admin: SignedIn, app_runtime: Runtime, counting: CountingBackend
) -> None:
    await log_automation_event(app_runtime.api, "system", "info", "first line")
    await open_tail(user, "/logs")
    cost = await burst_cost(app_runtime, counting, [user], size=80)
    assert cost == 2  # the feed's read, then this page's reload of its first page
    assert table_rows(user)[0]["message"] == "burst 80" and len(table_rows(user)) == 50
    await user.should_see("rows 1-50 of more than 50")


async def test_a_run_that_finishes_leaves_a_running_filter_and_updates_in_place(
    user: User, admin: SignedIn, app_runtime: Runtime, counting: CountingBackend
) -> None:
    api = app_runtime.api
    first = await start_automation_run(api, "implementation", "w-1", "manual")
    await open_tail(user, "/runs")
    second = await start_automation_run(api, "identification", "w-2", "schedule")
    await settle(lambda: newest_is([user], second))
    await finish_automation_run(api, first, "succeeded", 4, 0)
    await settle(lambda: _status_of(user, first, "succeeded"))
    assert [r["id"] for r in table_rows(user)] == [second, first]


async def _status_of(user: User, run_id: int, status: str) -> bool:
    return any(r["id"] == run_id and r["status"] == status for r in table_rows(user))


async def test_the_audit_tail_follows_new_rows_through_its_filter(
    user: User, admin: SignedIn, app_runtime: Runtime, counting: CountingBackend
) -> None:
    api = app_runtime.api
    await api.insert("admin_audit_log", [{"action": "logout", "actor_email": "a@x.test"}])
    await open_tail(user, "/audit")
    user.find(marker="audit-actor").type("b@x").trigger("keydown.enter")
    await user.should_see("no rows match", retries=50)
    before = counting.selects["admin_audit_log"]
    rows = await api.insert(
        "admin_audit_log",
        [{"action": "logout", "actor_email": e} for e in ("b@x.test", "c@x.test")],
    )
    await settle(lambda: newest_is([user], rows[0]["id"]))
    assert [r["actor_email"] for r in table_rows(user)] == ["b@x.test"]
    assert counting.selects["admin_audit_log"] - before == 1
