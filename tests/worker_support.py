"""Helpers shared by the worker tests (no tests here): a worker context, subprocess
workers and their state. Rows come from tests/factories.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dashboard.backends.postgres import PostgresBackend
from dashboard.worker.context import WorkerContext, WorkerOptions
from dashboard.worker.finders import DemoFinder
from dashboard.worker.ports import BusinessFinder, SiteBuilder
from dashboard.worker.sites import DatabaseDeployer, JinjaSiteBuilder
from tests.dbutil import sql

ROOT = Path(__file__).resolve().parents[1]


def make_ctx(
    backend: PostgresBackend,
    *,
    worker_id: str = "test-worker",
    finder: BusinessFinder | None = None,
    builder: SiteBuilder | None = None,
    **options: float,
) -> WorkerContext:
    return WorkerContext(
        api=backend,
        worker_id=worker_id,
        finder=finder or DemoFinder(),
        builder=builder or JinjaSiteBuilder(),
        deployer=DatabaseDeployer(backend, "http://sites.test"),
        options=WorkerOptions(**options),
    )


def spawn_worker(url: str, data_dir: Path, worker_id: str, *args: str) -> subprocess.Popen[bytes]:
    """A real worker process (`python -m dashboard.worker`) on the test database."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DATA_DIR": str(data_dir),
        "WORKER_PACE_SECONDS": "0",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "dashboard.worker", "--worker-id", worker_id, *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def worker_state(url: str, process: str, worker_id: str) -> str | None:
    rows = sql(
        url,
        "select workers -> %s ->> 'state' as state from public.automation_status"
        " where process = %s",
        (worker_id, process),
    )
    return rows[0]["state"] if rows else None


def stop_all(*procs: subprocess.Popen[bytes]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)
