"""`cliftonsites demo` on an empty folder, the way `make demo` runs it: secrets are
generated, the embedded PostgreSQL starts, the schema and demo data land, a first admin
exists, the worker runs, and SIGTERM leaves no process behind."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from dashboard.settings import SECRET_NAMES
from tests.dbutil import wait_until
from tests.e2e_support import cli_command, free_port, spawn

pytestmark = pytest.mark.slow


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def folder() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="csdemo"))  # short: the socket path is limited
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_the_demo_starts_everything_from_nothing_and_stops_cleanly(folder: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in SECRET_NAMES}
    for name in ("DATABASE_URL", "SUPABASE_URL", "NICEGUI_REDIS_URL"):
        env.pop(name, None)
    env.update(
        DATA_DIR=str(folder / "data"),
        PORT=str(port),
        ADMIN_EMAIL="owner@example.com",
        ADMIN_PASSWORD="a long demo password",
        WORKER_PACE_SECONDS="0.2",
        PYTHONUNBUFFERED="1",
    )
    demo = spawn([*cli_command(), "demo"], env, folder / "demo.log")
    try:
        base = f"http://127.0.0.1:{port}"

        def login_page() -> bool:
            try:
                return httpx.get(base + "/admin/login", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(login_page, 90, "the sign-in page")
        health = httpx.get(base + "/healthz", timeout=5).json()
        assert {k: health[k] for k in ("mode", "database", "realtime")} == {
            "mode": "embedded",
            "database": "ok",
            "realtime": "connected",
        }
        assert "workers" in health and "alerts" in health
        alerts_folder = folder / "data" / "alerts-outbox"
        printed = (folder / "demo.log").read_text(errors="replace")
        assert f"Alerts go to: email written to the folder {alerts_folder}" in printed
        secrets_file = (folder / "data" / "secrets.env").read_text()
        assert "SECRET_KEY=" in secrets_file and "STRIPE_WEBHOOK_SECRET=whsec_" in secrets_file

        url = f"postgresql://postgres@/postgres?host={folder / 'data' / 'pg'}"
        with psycopg.connect(url) as conn:
            counts = conn.execute(
                "select (select count(*) from public.pipeline_businesses),"
                " (select count(*) from auth.users where email = 'owner@example.com')"
            ).fetchone()
        assert counts is not None and counts[0] >= 3000 and counts[1] == 1

        def worker_running() -> bool:
            with psycopg.connect(url) as conn:
                row = conn.execute(
                    "select count(*) from public.automation_status where state = 'running'"
                ).fetchone()
            return row is not None and row[0] == 2

        wait_until(worker_running, 30, "the demo worker running both processes")
        workers = children_of(demo.popen.pid)
        assert workers, "the demo runs its worker as a child process"

        demo.popen.send_signal(signal.SIGTERM)
        demo.popen.wait(timeout=30)
        wait_until(lambda: not any(alive(p) for p in workers), 20, "the worker to exit")
        pidfile = folder / "data" / "pg" / "postmaster.pid"
        try:
            wait_until(lambda: not pidfile.exists(), 10, "the embedded PostgreSQL to stop")
        except AssertionError as stopped:
            raise AssertionError(demo.output()) from stopped
    finally:
        demo.kill()
