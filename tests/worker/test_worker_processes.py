"""Real worker processes on one database: commands by NOTIFY, SIGTERM, SIGKILL and sharing."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from dashboard.backends.base import SERVICE
from dashboard.backends.postgres import PostgresBackend
from dashboard.data.automation import send_automation_command
from tests.dbutil import sql, wait_until
from tests.factories import count, seed_queued
from tests.worker_support import spawn_worker, stop_all, worker_state

SLOW_HEARTBEAT = ("--heartbeat-seconds", "30")  # so only NOTIFY can explain a fast reaction


async def test_a_pause_reaches_three_workers_within_one_second_and_resume_brings_them_back(
    app_db_url: str, tmp_path: Path
) -> None:
    ids = ["w1", "w2", "w3"]
    procs = [spawn_worker(app_db_url, tmp_path, w, "--process", "implementation", *SLOW_HEARTBEAT)
             for w in ids]  # fmt: skip
    try:
        for w in ids:
            wait_until(lambda w=w: worker_state(app_db_url, "implementation", w) == "running", 30)
        backend = await PostgresBackend(app_db_url).open()
        for command, expected in (("pause", "paused"), ("resume", "running")):
            started = time.monotonic()
            sent = await send_automation_command(
                backend, "implementation", command, {}, "admin@x", caller=SERVICE
            )
            wait_until(
                lambda e=expected: all(
                    worker_state(app_db_url, "implementation", w) == e for w in ids
                ),
                1.0,
            )
            print(f"{command} -> three workers {expected}: {time.monotonic() - started:.2f} s")
            status = sql(app_db_url, "select status, picked_by from public.automation_commands"
                         f" where id = {sent.id}")[0]  # fmt: skip
            assert status["status"] == "completed" and status["picked_by"] in ids
        await backend.close()
    finally:
        stop_all(*procs)


async def test_sigterm_closes_the_run_and_leaves_no_business_started(
    app_db_url: str, tmp_path: Path
) -> None:
    seed_queued(app_db_url, 400)
    proc = spawn_worker(app_db_url, tmp_path, "term", "--process", "implementation",
                        "--pace", "0.01")  # fmt: skip
    try:
        wait_until(
            lambda: count(app_db_url, "select count(*) as n from public.qualified_businesses") >= 5,
            30,
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        stop_all(proc)
    assert (
        count(
            app_db_url,
            "select count(*) as n from public.pipeline_businesses where status = 'started'",
        )
        == 0
    )
    runs = sql(app_db_url, "select status from public.automation_runs")
    assert runs and all(r["status"] != "running" for r in runs)
    assert worker_state(app_db_url, "implementation", "term") is None  # reported offline
    deployed = count(app_db_url, "select count(*) as n from public.qualified_businesses")
    assert deployed < 400  # it really was stopped mid-queue


async def test_a_killed_worker_s_business_is_finished_once_by_another_after_the_stale_window(
    app_db_url: str, tmp_path: Path
) -> None:
    seed_queued(app_db_url, 1)
    slow = spawn_worker(app_db_url, tmp_path, "doomed", "--process", "implementation",
                        "--build-delay", "60")  # fmt: skip
    try:
        wait_until(lambda: sql(app_db_url, "select claimed_by from public.pipeline_businesses"
                               " where status = 'started'"), 30)  # fmt: skip
        slow.send_signal(signal.SIGKILL)
        slow.wait(timeout=10)
    finally:
        stop_all(slow)
    # The stale window passes (15 minutes by default): age the claim instead of waiting.
    sql(
        app_db_url,
        "update public.pipeline_businesses set started_at = now() - interval '20 minutes'",
    )
    rescuer = spawn_worker(app_db_url, tmp_path, "rescuer", "--process", "implementation",
                           "--stale-reset-seconds", "0.5")  # fmt: skip
    try:
        wait_until(
            lambda: count(app_db_url, "select count(*) as n from public.qualified_businesses") == 1,
            30,
        )
        time.sleep(1.0)  # give a duplicate every chance to appear
    finally:
        stop_all(rescuer)
    row = sql(app_db_url, "select status, attempts, claimed_by from public.pipeline_businesses")[0]
    assert row == {"status": "deployed", "attempts": 2, "claimed_by": "rescuer"}
    assert count(app_db_url, "select count(*) as n from public.qualified_businesses") == 1
    assert count(app_db_url, "select count(*) as n from public.automation_logs"
                 " where message like 'requeued 1 stale claim%'") == 1  # fmt: skip


async def test_two_workers_never_build_the_same_business(app_db_url: str, tmp_path: Path) -> None:
    total = 300
    seed_queued(app_db_url, total)
    procs = [
        spawn_worker(app_db_url, tmp_path, w, "--process", "implementation") for w in ("a", "b")
    ]
    try:
        wait_until(lambda: count(app_db_url, "select count(*) as n from public.pipeline_businesses"
                                 " where status = 'deployed'") == total, 60)  # fmt: skip
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=20)
        stop_all(*procs)
    assert count(app_db_url, "select count(*) as n from public.qualified_businesses") == total
    deploys = sql(app_db_url, "select business_id, count(*) as n from public.automation_logs"
                  " where message like 'deployed %' group by business_id")  # fmt: skip
    assert len(deploys) == total and all(r["n"] == 1 for r in deploys)
    assert count(app_db_url, "select count(*) as n from public.automation_logs"
                 " where message like '%claim lost%'") == 0  # fmt: skip
    by_worker = sql(app_db_url, "select claimed_by, count(*) as n from public.pipeline_businesses"
                    " group by claimed_by")  # fmt: skip
    assert {r["claimed_by"] for r in by_worker} == {"a", "b"}  # both really took part
    assert (
        count(app_db_url, "select count(distinct uuid) as n from admin_private.site_files") == total
    )
