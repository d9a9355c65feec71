"""Automation control through the data layer: status, commands, config, heartbeats, runs, logs."""

from __future__ import annotations

from typing import Any

import pytest

from dashboard.backends.base import SERVICE, BackendError
from dashboard.backends.postgres import PostgresBackend
from dashboard.data import automation
from tests.factories import ADMIN, audit_rows


async def test_a_fresh_process_is_offline_and_stale(backend: PostgresBackend) -> None:
    rows = await automation.get_automation_status(backend)
    assert [r.process for r in rows] == ["identification", "implementation"]
    assert all(r.state == "offline" and r.is_stale and r.worker_count == 0 for r in rows)


async def test_heartbeats_aggregate_every_worker_of_a_process(backend: PostgresBackend) -> None:
    await automation.report_automation_heartbeat(backend, "implementation", "a", "paused")
    row = await automation.report_automation_heartbeat(
        backend, "implementation", "b", "running", "building", 7, None, 3, 1
    )
    assert row.state == "running" and set(row.workers) == {"a", "b"}
    assert row.workers["b"].business_id == 7 and row.processed_count == 3 and row.error_count == 1
    row = await automation.report_automation_heartbeat(backend, "implementation", "b", "offline")
    assert row.state == "paused" and set(row.workers) == {"a"} and row.worker_id == "a"
    row = await automation.report_automation_heartbeat(backend, "implementation", "a", "offline")
    assert row.state == "offline" and row.workers == {} and row.started_at is None
    [_, status] = await automation.get_automation_status(backend)
    assert status.worker_count == 0 and status.last_heartbeat_at is not None


async def test_a_worker_that_stopped_beating_is_dropped_and_the_status_goes_stale(
    backend: PostgresBackend,
) -> None:
    await automation.report_automation_heartbeat(backend, "identification", "dead", "running")
    async with backend.owner() as conn:
        await conn.execute(
            "update public.automation_status set last_heartbeat_at = now() - interval '61 seconds',"
            " workers = jsonb_set(workers, '{dead,heartbeat_at}',"
            "   to_jsonb(now() - interval '61 seconds'))"
            " where process = 'identification'"
        )
    [status, _] = await automation.get_automation_status(backend)
    assert status.is_stale and status.worker_count == 0
    assert status.heartbeat_age_seconds is not None and status.heartbeat_age_seconds >= 61
    row = await automation.report_automation_heartbeat(backend, "identification", "live", "idle")
    assert set(row.workers) == {"live"} and row.state == "idle"


async def run_states(backend: PostgresBackend) -> dict[int, tuple[str, bool, str | None]]:
    async with backend.owner() as conn:
        cur = await conn.execute(
            "select id, status, finished_at, error from public.automation_runs"
        )
        return {
            r["id"]: (r["status"], r["finished_at"] is not None, r["error"])
            for r in await cur.fetchall()
        }


async def test_the_heartbeat_that_drops_a_silent_worker_closes_its_open_runs(
    backend: PostgresBackend,
) -> None:
    dead = await automation.start_automation_run(backend, "implementation", "dead")
    elsewhere = await automation.start_automation_run(backend, "identification", "dead")
    live = await automation.start_automation_run(backend, "implementation", "live")
    await automation.report_automation_heartbeat(backend, "implementation", "dead", "running")
    await automation.report_automation_heartbeat(backend, "implementation", "live", "running")
    assert {s for s, _, _ in (await run_states(backend)).values()} == {"running"}
    async with backend.owner() as conn:  # "dead" beat last 61 s ago (the limit is 60 s)
        await conn.execute(
            "update public.automation_status set workers = jsonb_set(workers,"
            " '{dead,heartbeat_at}', to_jsonb(now() - interval '61 seconds'))"
            " where process = 'implementation'"
        )
    row = await automation.report_automation_heartbeat(backend, "implementation", "live", "running")
    assert set(row.workers) == {"live"}
    runs = await run_states(backend)
    status, finished, error = runs[dead]
    assert status == "failed" and finished and error is not None
    assert "stopped sending heartbeats (none for over 60 s)" in error and "live" in error
    assert runs[elsewhere] == ("running", False, None) and runs[live] == ("running", False, None)
    with pytest.raises(BackendError) as err:  # the worker, were it only cut off, is told
        await automation.finish_automation_run(backend, dead, "succeeded")
    assert err.value.code == "55000"
    await automation.report_automation_heartbeat(backend, "implementation", "live", "running")
    assert (await run_states(backend))[dead] == runs[dead]  # closed once, left alone after


@pytest.mark.parametrize(
    ("command", "desired"),
    [("pause", "paused"), ("resume", "running"), ("stop", "stopped"), ("start", "running")],
)
async def test_a_command_sets_the_desired_state_and_is_audited(
    backend: PostgresBackend, command: Any, desired: str
) -> None:
    sent = await automation.send_automation_command(
        backend, "implementation", command, {"reason": "deploy window"}, "admin@example.com",
        caller=ADMIN,
    )  # fmt: skip
    assert sent.status == "pending" and sent.command == command
    [_, status] = await automation.get_automation_status(backend)
    assert status.desired_state == desired
    assert status.paused_reason == ("deploy window" if command == "pause" else None)
    [audit] = await audit_rows(backend)
    assert audit["action"] == "command_sent" and audit["target"] == "implementation"
    assert audit["actor_email"] == "admin@example.com" and str(audit["actor_id"]) == ADMIN.sub
    assert audit["details"]["command_id"] == sent.id


async def test_run_once_leaves_the_desired_state_alone(backend: PostgresBackend) -> None:
    await automation.send_automation_command(backend, "identification", "pause", caller=SERVICE)
    await automation.send_automation_command(backend, "identification", "run_once", caller=SERVICE)
    [status, _] = await automation.get_automation_status(backend)
    assert status.desired_state == "paused"


async def test_commands_are_claimed_oldest_first_once_and_then_completed(
    backend: PostgresBackend,
) -> None:
    first = await automation.send_automation_command(
        backend, "implementation", "run_once", caller=SERVICE
    )
    await automation.send_automation_command(
        backend, "implementation", "reset_stale", caller=SERVICE
    )
    await automation.send_automation_command(backend, "identification", "run_once", caller=SERVICE)
    claimed = await automation.claim_next_command(backend, "implementation", "w1")
    assert claimed is not None and claimed.id == first.id
    assert claimed.status == "processing" and claimed.picked_by == "w1"
    second = await automation.claim_next_command(backend, "implementation", "w2")
    assert second is not None and second.command == "reset_stale"
    assert await automation.claim_next_command(backend, "implementation", "w3") is None
    done = await automation.complete_automation_command(backend, first.id, "completed", {"n": 3})
    assert done.status == "completed" and done.result == {"n": 3} and done.completed_at


async def test_expired_commands_are_never_handed_out(backend: PostgresBackend) -> None:
    old = await automation.send_automation_command(
        backend, "implementation", "start", caller=SERVICE
    )
    async with backend.owner() as conn:
        await conn.execute(
            "update public.automation_commands set expires_at = now() - interval '1 second'"
            " where id = %s",
            [old.id],
        )
    assert await automation.claim_next_command(backend, "implementation", "w") is None
    async with backend.owner() as conn:
        cur = await conn.execute("select status from public.automation_commands")
        assert await cur.fetchall() == [{"status": "expired"}]


async def test_config_changes_are_typed_and_audited_with_before_and_after(
    backend: PostgresBackend,
) -> None:
    config = await automation.update_automation_config(
        backend,
        {"daily_deploy_limit": 1_000_000, "outreach_enabled": False, "pace_seconds": 1.5},
        "admin@example.com",
        caller=SERVICE,
    )
    assert config.daily_deploy_limit == 1_000_000 and config.outreach_enabled is False
    assert config.pace_seconds == 1.5 and config.updated_by == "admin@example.com"
    [audit] = await audit_rows(backend)
    assert audit["action"] == "config_updated"
    assert audit["details"]["before"] == {
        "daily_deploy_limit": 500, "outreach_enabled": True, "pace_seconds": 0,
    }  # fmt: skip
    assert audit["details"]["after"]["daily_deploy_limit"] == 1_000_000


async def test_a_run_is_opened_and_finished_once(backend: PostgresBackend) -> None:
    command = await automation.send_automation_command(
        backend, "implementation", "run_once", caller=SERVICE
    )
    run_id = await automation.start_automation_run(
        backend, "implementation", "w1", "command", command.id
    )
    run = await automation.finish_automation_run(backend, run_id, "succeeded", 10, 2)
    assert run.id == run_id and run.status == "succeeded" and run.command_id == command.id
    assert (run.items_processed, run.items_failed) == (10, 2) and run.finished_at is not None


async def test_log_lines_are_appended_and_long_ones_cut(backend: PostgresBackend) -> None:
    run_id = await automation.start_automation_run(backend, "identification", "w1")
    first = await automation.log_automation_event(
        backend, "identification", "info", "found 12", run_id, None, {"target": 4}
    )
    second = await automation.log_automation_event(backend, "system", "error", "x" * 20_000)
    assert second > first
    async with backend.owner() as conn:
        cur = await conn.execute(
            "select run_id, metadata, length(message) as n from public.automation_logs order by id"
        )
        rows = await cur.fetchall()
    assert rows == [
        {"run_id": run_id, "metadata": {"target": 4}, "n": 8},
        {"run_id": None, "metadata": {}, "n": 10_000},
    ]
