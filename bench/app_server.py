"""The real app as a subprocess for benchmarks and drills, and a signed-in admin for it.

`AppServer` runs `cliftonsites serve` (or `demo`) against a database URL on a free
port and waits for `/healthz`. `sign_in_ticket()` creates an admin with a known TOTP
secret through the project's own auth functions (password hash, enrolment, verify,
AAL2 session) and returns a one-time handoff ticket: a browser or socket client that
opens `/admin/auth/complete?ticket=...` gets the session cookie, as after a real
sign-in.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pyotp

from bench.common import ROOT

SECRET_KEY = "bench-" + "k" * 40


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def app_env(database_url: str | None, port: int, **extra: str) -> dict[str, str]:
    env = dict(os.environ, HOST="127.0.0.1", PORT=str(port), SECRET_KEY=SECRET_KEY, **extra)
    env.pop("SUPABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


@dataclass
class AppServer:
    """`cliftonsites <command>` on a free port; stopped (SIGTERM, then SIGKILL) on exit."""

    database_url: str | None
    command: str = "serve"
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    cwd: Path = ROOT
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    #: Children still running after the app stopped (killed by `stop`; a defect to report).
    orphans: list[int] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> AppServer:
        exe = Path(sys.executable).with_name("cliftonsites")
        self.log_path = Path(f"/tmp/bench-app-{self.port}.log")
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [str(exe), self.command],
            env=app_env(self.database_url, self.port, **self.extra_env),
            cwd=self.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        return self

    def wait_ready(self, path: str = "/healthz", timeout: float = 60.0) -> float:
        """Seconds until `path` answers 200; raises with the log tail when it never does."""
        began = time.monotonic()
        while time.monotonic() - began < timeout:
            if self.proc is not None and self.proc.poll() is not None:
                break
            try:
                if httpx.get(self.base + path, timeout=2).status_code == 200:
                    return time.monotonic() - began
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"app on {self.base} not ready within {timeout} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM (SIGKILL after 30 s); then end any child it left behind (the demo's worker)."""
        if self.proc is None:
            return
        try:
            children = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        for child in children:
            if child.is_running():
                self.orphans.append(child.pid)
                child.kill()
        self.proc = None

    def __enter__(self) -> AppServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def _ticket(database_url: str, email: str, password: str) -> tuple[str, str, str, str]:
    from dashboard.auth.admins import create_admin
    from dashboard.auth.provider import Identity
    from dashboard.auth.service import AuthService
    from dashboard.backends.postgres import PostgresBackend

    db = await PostgresBackend(database_url, max_size=2).open()
    try:
        auth = AuthService.local(db, SECRET_KEY)
        user_id = await asyncio.to_thread(create_admin, database_url, email, password)
        identity = Identity(user_id, email)
        enrollment = await auth.provider.enroll(identity)
        await auth.provider.verify(
            identity, enrollment.factor_id, pyotp.TOTP(enrollment.secret).now()
        )
        handoff = await auth.sessions.start(
            user_id=user_id, email=email, aal="aal2", factor_id=enrollment.factor_id,
            binding=None, next_path="/", ip=None, user_agent=None,
        )  # fmt: skip
        return handoff.ticket, enrollment.secret, user_id, enrollment.factor_id
    finally:
        await db.close()


def sign_in_ticket(database_url: str, email: str | None = None) -> tuple[str, str]:
    """(one-time handoff ticket, TOTP secret) for a new AAL2 admin."""
    email = email or f"bench-{secrets.token_hex(4)}@cliftonsites.test"
    ticket, secret, _, _ = asyncio.run(
        _ticket(database_url, email, "bench password " + secrets.token_hex(8))
    )
    return ticket, secret


async def session_tickets(database_url: str, count: int) -> list[str]:
    """`count` AAL2 handoff tickets for one new admin (one per simulated browser)."""
    from dashboard.auth.service import AuthService
    from dashboard.backends.postgres import PostgresBackend

    email = f"bench-{secrets.token_hex(4)}@cliftonsites.test"
    password = "bench password " + secrets.token_hex(8)
    first, _secret, user_id, factor_id = await _ticket(database_url, email, password)
    db = await PostgresBackend(database_url, max_size=2).open()
    try:
        auth = AuthService.local(db, SECRET_KEY)
        tickets = [first]
        for _ in range(count - 1):
            handoff = await auth.sessions.start(
                user_id=user_id, email=email, aal="aal2", factor_id=factor_id,
                binding=None, next_path="/", ip=None, user_agent=None,
            )  # fmt: skip
            tickets.append(handoff.ticket)
        return tickets
    finally:
        await db.close()


def prepare_app_database(admin_url: str, name: str = "bench_app", businesses: int = 3_000) -> str:
    """A fresh migrated database with the demo's data (a few thousand businesses)."""
    from bench.common import ensure_database
    from dashboard.seed import seed_database

    url = ensure_database(admin_url, name, fresh=True)
    seed_database(url, businesses=businesses, targets=120)
    return url
