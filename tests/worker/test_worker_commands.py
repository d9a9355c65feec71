"""Commands beyond pause/resume (run_once, stop, reset_stale) and `--once`, on real processes."""

from __future__ import annotations

import subprocess
from pathlib import Path

from dashboard.backends.base import SERVICE
from dashboard.backends.postgres import PostgresBackend
from dashboard.data.automation import send_automation_command, update_automation_config
from tests.dbutil import sql, wait_until
from tests.factories import seed_queued, seed_targets
from tests.worker_support import spawn_worker, stop_all, worker_state


def command_row(url: str, command_id: int) -> dict[str, object]:
    rows = sql(url, "select status, result from public.automation_commands where id = %s",
               (command_id,))  # fmt: skip
    return rows[0]


async def test_run_once_works_one_batch_while_paused_and_stop_makes_workers_idle(
    app_db_url: str, tmp_path: Path
) -> None:
    seed_queued(app_db_url, 20)
    backend = await PostgresBackend(app_db_url).open()
    await update_automation_config(backend, {"batch_size": 5}, "admin@x", caller=SERVICE)
    await send_automation_command(backend, "implementation", "pause", {}, "admin@x", caller=SERVICE)
    proc = spawn_worker(app_db_url, tmp_path, "solo", "--process", "implementation")
    try:
        wait_until(lambda: worker_state(app_db_url, "implementation", "solo") == "paused", 30)
        sent = await send_automation_command(
            backend, "implementation", "run_once", {}, "admin@x", caller=SERVICE
        )
        wait_until(lambda: command_row(app_db_url, sent.id)["status"] == "completed", 5)
        result = command_row(app_db_url, sent.id)["result"]
        assert result == {"items_processed": 5, "items_failed": 0}
        runs = sql(app_db_url, "select trigger, command_id, status, items_processed"
                   " from public.automation_runs")  # fmt: skip
        assert runs == [{"trigger": "command", "command_id": sent.id, "status": "succeeded",
                         "items_processed": 5}]  # fmt: skip
        wait_until(lambda: worker_state(app_db_url, "implementation", "solo") == "paused", 2)
        await send_automation_command(
            backend, "implementation", "stop", {}, "admin@x", caller=SERVICE
        )
        wait_until(lambda: worker_state(app_db_url, "implementation", "solo") == "idle", 1)
        assert proc.poll() is None  # a stop command idles the worker, it does not exit
    finally:
        stop_all(proc)
        await backend.close()


async def test_reset_stale_command_requeues_old_claims_and_reports_how_many(
    app_db_url: str, tmp_path: Path
) -> None:
    seed_queued(app_db_url, 3)  # claimed 10 minutes ago: inside the default 15-minute window
    sql(app_db_url, "update public.pipeline_businesses set status = 'started', attempts = 1,"
        " claimed_by = 'ghost', claim_token = gen_random_uuid(),"
        " started_at = now() - interval '10 minutes'")  # fmt: skip
    backend = await PostgresBackend(app_db_url).open()
    await send_automation_command(backend, "implementation", "pause", {}, "admin@x", caller=SERVICE)
    proc = spawn_worker(app_db_url, tmp_path, "solo", "--process", "implementation")
    try:
        wait_until(lambda: worker_state(app_db_url, "implementation", "solo") == "paused", 30)
        sent = await send_automation_command(
            backend,
            "implementation",
            "reset_stale",
            {"stale_after_minutes": 5},
            "admin@x",
            caller=SERVICE,
        )
        wait_until(lambda: command_row(app_db_url, sent.id)["status"] == "completed", 2)
        assert command_row(app_db_url, sent.id)["result"] == {"reset": 3}
    finally:
        stop_all(proc)
        await backend.close()


def test_once_identifies_every_target_then_builds_every_site_and_exits(
    app_db_url: str, tmp_path: Path
) -> None:
    seed_targets(app_db_url, ("Clifton", "NJ", "bakery"), ("Clifton", "NJ", "florist"),
                 ("Passaic", "NJ", "bakery"))  # fmt: skip
    proc = spawn_worker(app_db_url, tmp_path, "once", "--once")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    queued = sql(app_db_url, "select count(*) as n from public.pipeline_businesses")[0]["n"]
    assert queued > 10
    assert (
        f"identification: 3 done, 0 failed\nimplementation: {queued} done, 0 failed" in out.decode()
    )
    assert "[#" not in err.decode()  # no progress bar when stderr is not a terminal
    done = sql(app_db_url, "select count(*) as n from public.identification_targets"
               " where status = 'done'")  # fmt: skip
    assert done[0]["n"] == 3
    assert (
        sql(app_db_url, "select count(*) as n from public.qualified_businesses")[0]["n"] == queued
    )
    assert worker_state(app_db_url, "identification", "once") is None


def test_the_console_scripts_show_the_worker_help() -> None:
    exe = Path(__file__).resolve().parents[2] / ".venv" / "bin"
    for cmd in (
        [str(exe / "cliftonsites"), "worker", "--help"],
        [str(exe / "cliftonsites-worker"), "--help"],
    ):
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=True).stdout
        assert "--process [identification|implementation|both]" in out


def status_message(url: str, process: str) -> object:
    return sql(url, "select message from public.automation_status where process = %s",
               (process,))[0]["message"]  # fmt: skip


async def test_a_message_clears_once_its_reason_is_gone(app_db_url: str, tmp_path: Path) -> None:
    backend = await PostgresBackend(app_db_url).open()
    await update_automation_config(
        backend, {"implementation_enabled": False}, "admin@x", caller=SERVICE
    )
    proc = spawn_worker(app_db_url, tmp_path, "solo", "--process", "implementation")
    try:
        wait_until(lambda: status_message(app_db_url, "implementation")
                   == "implementation is disabled in the config", 30)  # fmt: skip
        seed_queued(app_db_url, 200)
        await update_automation_config(
            backend, {"implementation_enabled": True}, "admin@x", caller=SERVICE
        )
        # working through the queue there is nothing to say: the old reason must not stick
        wait_until(lambda: status_message(app_db_url, "implementation") == "", 10)
    finally:
        stop_all(proc)
        await backend.close()
