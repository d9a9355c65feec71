"""Each guard pauses the right process, says why, and resumes it when the reason is gone."""

from __future__ import annotations

from dashboard.backends.base import SERVICE
from dashboard.backends.postgres import PostgresBackend
from dashboard.data.automation import (
    get_automation_config,
    send_automation_command,
    update_automation_config,
)
from dashboard.worker.context import WorkerContext
from dashboard.worker.guards import GUARD_BY, Guards
from dashboard.worker.implementation import implementation_step
from dashboard.worker.loop import ProcessLoop
from tests.dbutil import sql
from tests.factories import seed_queued
from tests.worker_support import make_ctx

BOTH = ("identification", "implementation")


def desired(url: str) -> dict[str, tuple[str, str | None]]:
    rows = sql(url, "select process, desired_state, paused_reason from public.automation_status")
    return {r["process"]: (r["desired_state"], r["paused_reason"]) for r in rows}


async def deploy(backend: PostgresBackend, ctx: WorkerContext, count: int) -> None:
    loop = ProcessLoop(ctx, "implementation", implementation_step)
    for _ in range(count):
        assert await loop.step(loop, await get_automation_config(backend)) == "done"
    await loop.close_run("succeeded")


async def test_the_daily_limit_pauses_implementation_until_the_limit_is_raised(
    backend: PostgresBackend, db_url: str
) -> None:
    ctx = make_ctx(backend)
    seed_queued(db_url, 2)
    await update_automation_config(
        backend, {"daily_deploy_limit": 2}, "admin@example.com", caller=SERVICE
    )
    guards = Guards(ctx, BOTH)
    assert await guards.check() == []
    await deploy(backend, ctx, 2)
    assert await guards.check() == ["paused implementation: daily_limit"]
    state = desired(db_url)
    assert state["implementation"][0] == "paused"
    assert "daily deploy limit reached: 2 of 2" in (state["implementation"][1] or "")
    assert state["identification"] == ("running", None)
    command = sql(db_url, "select requested_by, payload from public.automation_commands")[0]
    assert command["requested_by"] == GUARD_BY and command["payload"]["guard"] == "daily_limit"
    assert await guards.check() == []  # still over the limit: stays paused, no second command
    await update_automation_config(
        backend, {"daily_deploy_limit": 10}, "admin@example.com", caller=SERVICE
    )
    assert await guards.check() == ["resumed implementation"]
    assert desired(db_url)["implementation"] == ("running", None)


async def test_a_high_bounce_rate_pauses_implementation_until_it_is_back_under_the_limit(
    backend: PostgresBackend, db_url: str
) -> None:
    ctx = make_ctx(backend)
    seed_queued(db_url, 20)
    await deploy(backend, ctx, 20)
    sql(db_url, "update public.qualified_businesses set outreach_status ="
        " case when id % 2 = 0 then 'bounced' else 'started' end")  # fmt: skip
    guards = Guards(ctx, BOTH)
    assert await guards.check() == ["paused implementation: bounce_rate"]
    reason = desired(db_url)["implementation"][1] or ""
    assert "bounce rate 50% (10 of 20" in reason
    assert desired(db_url)["identification"][0] == "running"
    await update_automation_config(
        backend, {"bounce_rate_limit": 0.6}, "admin@example.com", caller=SERVICE
    )
    assert await guards.check() == ["resumed implementation"]


async def test_a_failing_provider_pauses_its_own_process_and_resumes_after_the_cooldown(
    backend: PostgresBackend, db_url: str
) -> None:
    ctx = make_ctx(backend, provider_cooldown_seconds=3600)
    await update_automation_config(
        backend, {"provider_failure_limit": 3}, "admin@example.com", caller=SERVICE
    )
    guards = Guards(ctx, BOTH)
    for _ in range(3):
        ctx.health.failure("google_places", "identification")
    assert await guards.check() == ["paused identification: provider"]
    assert "google_places failed 3 times in a row" in (desired(db_url)["identification"][1] or "")
    assert desired(db_url)["implementation"][0] == "running"
    assert await guards.check() == []  # the cool-down has not passed
    ctx.options.provider_cooldown_seconds = 0
    assert await guards.check() == ["resumed identification"]
    assert ctx.health.streaks["google_places"] == 0


async def test_a_guard_never_resumes_a_pause_made_by_a_person(
    backend: PostgresBackend, db_url: str
) -> None:
    ctx = make_ctx(backend)
    await send_automation_command(
        backend, "implementation", "pause", {}, "admin@example.com", caller=SERVICE
    )
    assert await Guards(ctx, BOTH).check() == []
    assert desired(db_url)["implementation"] == ("paused", "paused by admin@example.com")
