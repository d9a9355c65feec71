"""Alerts against real servers on this machine: an SMTP server (aiosmtpd) and an HTTP
receiver get the messages; the clock is the test's. Firing, reminder and resolved
arrive in that order; a delivery that fails twice is delivered once; the outbox
survives a restart; two processes evaluating at once send one message, not two."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from dashboard.alerts.delivery import SIGNATURE_HEADER, default_senders, deliver_due
from dashboard.alerts.engine import LOCK_KEY, evaluate_locked, evaluate_once
from dashboard.alerts.messages import sign
from dashboard.backends.postgres import PostgresBackend
from dashboard.data import alerts as store
from dashboard.settings import Settings, load_settings
from tests import e2e_support as e2e
from tests.dbutil import sql

SMTP_PORT = 8121
HTTP_PORT = 8122
SECRET = "alerts-test-secret-key-0123456789-abcdefghijkl"
HOOK_SECRET = "hook-secret-for-the-receiver"
T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


class Inbox:
    """aiosmtpd handler: keeps each message; answers 451 for the first `fail` of them."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.fail = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.fail > 0:
            self.fail -= 1
            return "451 4.3.0 try again later"
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]


@pytest.fixture(scope="module")
def smtp() -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=SMTP_PORT)
    controller.start()
    yield inbox
    controller.stop()


@pytest.fixture
def inbox(smtp: Inbox) -> Inbox:
    smtp.messages.clear()
    smtp.fail = 0
    return smtp


class Hooks:
    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []


@pytest.fixture(scope="module")
def hooks() -> Iterator[Hooks]:
    seen = Hooks()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.received.append((dict(self.headers.items()), body))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", HTTP_PORT), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield seen
    server.shutdown()


def settings_for(**extra: Any) -> Settings:
    values: dict[str, Any] = {
        "secret_key": SECRET,
        "smtp_url": f"smtp://127.0.0.1:{SMTP_PORT}",
        "alert_email_to": "ops@example.com, owner@example.com",
        "alert_email_from": "alerts@cliftonsites.test",
        "public_base_url": "https://admin.example.com",
    }
    values.update(extra)
    return load_settings(**values)


def heartbeat(url: str, process: str, at: datetime | None) -> None:
    sql(
        url,
        "update public.automation_status set last_heartbeat_at = %s, state = 'running'"
        " where process = %s",
        (at, process),
    )


def only_rules(url: str, *kinds: str) -> None:
    """Keep only `kinds` enabled (the others would see the empty test database too)."""
    sql(url, "select 1")
    from dashboard.alerts.rules import KINDS

    for kind in KINDS:
        sql(
            url,
            "insert into admin_private.alert_rules (kind, threshold, enabled)"
            " values (%s, 0, %s) on conflict (kind) do update set enabled = excluded.enabled",
            (kind, kind in kinds),
        )


async def run(backend: PostgresBackend, settings: Settings, now: datetime) -> None:
    await evaluate_once(backend, settings, now)
    await deliver_due(backend, default_senders(settings), now)


@pytest.fixture
async def silent_worker(db_url: str, backend: PostgresBackend) -> AsyncIterator[str]:
    """Identification always fresh; implementation's last heartbeat at T0."""
    only_rules(db_url, "worker_silent")
    heartbeat(db_url, "implementation", T0)
    yield db_url


async def test_smtp_gets_firing_reminder_and_resolved_in_that_order(
    silent_worker: str, backend: PostgresBackend, inbox: Inbox
) -> None:
    settings = settings_for()
    for now in (T0 + timedelta(seconds=30), T0 + timedelta(seconds=61)):
        heartbeat(silent_worker, "identification", now)
        await run(backend, settings, now)
    assert inbox.subjects() == ["[ALERT] CliftonSites: implementation worker is silent"]
    first = inbox.messages[0]
    assert first["To"] == "ops@example.com, owner@example.com"
    body = first.get_payload()
    assert "Since:    2026-12-07 12:00:00 UTC" in body
    assert "Fix it here: https://admin.example.com/admin/system" in body
    assert "Affects:  implementation does no work until a worker runs" in body
    # a pass within the reminder interval sends nothing more
    later = T0 + timedelta(minutes=30)
    heartbeat(silent_worker, "identification", later)
    await run(backend, settings, later)
    assert len(inbox.messages) == 1
    remind = T0 + timedelta(seconds=61, minutes=60)
    heartbeat(silent_worker, "identification", remind)
    await run(backend, settings, remind)
    assert inbox.subjects()[1].startswith("[STILL FIRING] CliftonSites: implementation worker")
    back = remind + timedelta(minutes=5)
    heartbeat(silent_worker, "identification", back)
    heartbeat(silent_worker, "implementation", back)
    await run(backend, settings, back)  # clear, but the 1 minute cooldown has not passed
    assert len(inbox.messages) == 2
    done = back + timedelta(minutes=1, seconds=30)
    heartbeat(silent_worker, "identification", done)
    heartbeat(silent_worker, "implementation", done)
    await run(backend, settings, done)
    assert [s.split(" ", 1)[0] for s in inbox.subjects()] == [
        "[ALERT]",
        "[STILL",
        "[RESOLVED]",
    ]
    assert "Resolved: 2026-12-07 13:07:31 UTC" in inbox.messages[2].get_payload()


async def test_the_webhook_is_slack_shaped_and_its_signature_checks(
    silent_worker: str, backend: PostgresBackend, hooks: Hooks
) -> None:
    hooks.received.clear()
    settings = settings_for(
        smtp_url="",
        alert_webhook_url=f"http://127.0.0.1:{HTTP_PORT}/hook",
        alert_webhook_secret=HOOK_SECRET,
        data_dir=Path(e2e.tempfile.mkdtemp(prefix="cs-alerts-")),
    )
    now = T0 + timedelta(seconds=90)
    heartbeat(silent_worker, "identification", now)
    await run(backend, settings, now)
    ((headers, body),) = hooks.received
    payload = json.loads(body)
    assert payload["text"].startswith("*[ALERT] CliftonSites: implementation worker is silent")
    assert payload["alert"]["rule"] == "worker_silent"
    stamp, signature = (part.split("=", 1)[1] for part in headers[SIGNATURE_HEADER].split(","))
    expected = hmac.new(HOOK_SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
    assert hmac.compare_digest(signature, expected.hexdigest())
    # and the email went to the local folder, since SMTP_URL is unset
    (eml,) = (settings.data_dir / "alerts-outbox").iterdir()
    assert "implementation worker is silent" in eml.read_text()


async def test_a_delivery_that_fails_twice_is_retried_with_backoff_and_delivered_once(
    silent_worker: str, backend: PostgresBackend, inbox: Inbox
) -> None:
    settings = settings_for()
    inbox.fail = 2
    now = T0 + timedelta(seconds=61)
    heartbeat(silent_worker, "identification", now)
    await run(backend, settings, now)
    (message,) = await store.recent_messages(backend)
    assert (message.status, message.attempts) == ("pending", 1)
    assert "451" in (message.last_error or "")
    assert message.next_attempt_at == now + timedelta(seconds=30)
    await deliver_due(backend, default_senders(settings), now + timedelta(seconds=10))
    assert (await store.recent_messages(backend))[0].attempts == 1  # not due yet
    await deliver_due(backend, default_senders(settings), now + timedelta(seconds=30))
    await deliver_due(backend, default_senders(settings), now + timedelta(seconds=90))
    (message,) = await store.recent_messages(backend)
    assert (message.status, message.attempts) == ("sent", 3)
    await deliver_due(backend, default_senders(settings), now + timedelta(hours=1))
    assert len(inbox.messages) == 1


async def test_an_acknowledged_alert_sends_no_reminder_and_a_muted_rule_sends_nothing(
    silent_worker: str, backend: PostgresBackend, inbox: Inbox
) -> None:
    settings = settings_for()
    now = T0 + timedelta(seconds=61)
    heartbeat(silent_worker, "identification", now)
    await run(backend, settings, now)
    (alert,) = await store.firing_alerts(backend)
    assert await store.ack_alert(backend, alert.id, (None, "ops@example.com"), now)
    later = now + timedelta(hours=3)
    heartbeat(silent_worker, "identification", later)
    await run(backend, settings, later)
    assert len(inbox.messages) == 1  # acknowledged: no reminders
    audit = sql(silent_worker, "select action, details from public.admin_audit_log")
    assert audit[-1]["action"] == "alert_acknowledged"
    # a muted rule: a new silence raises an alert on the page but sends no message
    await store.mute_rule(
        backend, "worker_silent", later + timedelta(hours=1), (None, "ops@example.com"), later
    )
    heartbeat(silent_worker, "identification", None)
    await run(backend, settings, later)
    assert len(inbox.messages) == 1
    assert {a.subject for a in await store.firing_alerts(backend)} == {
        "identification",
        "implementation",
    }
    # when the mute ends, the alert that still fires sends its first message
    await run(backend, settings, later + timedelta(hours=1, seconds=1))
    assert (
        inbox.subjects()[-1] == "[ALERT] CliftonSites: no identification worker has ever reported"
    )


async def test_a_restart_between_firing_and_delivery_still_delivers(
    silent_worker: str, backend: PostgresBackend, inbox: Inbox, tmp_path: Path
) -> None:
    settings = settings_for()
    now = datetime.now(UTC)  # the new process below runs on the real clock
    heartbeat(silent_worker, "identification", now)
    heartbeat(silent_worker, "implementation", now - timedelta(seconds=61))
    await evaluate_once(backend, settings, now)  # fired and queued; then the process dies
    assert inbox.messages == []
    result = alerts_check(silent_worker, tmp_path)  # a new process on the same database
    assert result.returncode == 1, result.stdout + result.stderr
    assert inbox.subjects() == ["[ALERT] CliftonSites: implementation worker is silent"]


def alerts_check(url: str, folder: Path) -> subprocess.CompletedProcess[str]:
    env = e2e.base_env(
        url,
        folder,
        SECRET_KEY=SECRET,
        SMTP_URL=f"smtp://127.0.0.1:{SMTP_PORT}",
        ALERT_EMAIL_TO="ops@example.com",
    )
    return subprocess.run(
        [*e2e.cli_command(), "alerts", "check"],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_two_processes_checking_at_once_send_each_message_once(
    db_url: str, backend: PostgresBackend, inbox: Inbox, tmp_path: Path
) -> None:
    only_rules(db_url, "worker_silent")  # no worker ever reported: two alerts, real clock
    runs = [asyncio.to_thread(alerts_check, db_url, tmp_path / name) for name in ("one", "two")]
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
    results = await asyncio.gather(*runs)
    for result in results:
        assert result.returncode == 1, result.stdout + result.stderr  # 1: alerts are firing
    assert "FIRING" in results[0].stdout + results[1].stdout
    await asyncio.to_thread(alerts_check, db_url, tmp_path / "one")
    assert sorted(inbox.subjects()) == [
        "[ALERT] CliftonSites: no identification worker has ever reported",
        "[ALERT] CliftonSites: no implementation worker has ever reported",
    ]


async def test_a_check_while_another_instance_evaluates_waits_for_its_pass(
    db_url: str, backend: PostgresBackend, inbox: Inbox, tmp_path: Path
) -> None:
    """`alerts check` that finds the pass taken waits for it to commit, then counts and
    delivers what it found: exit 1, not a 0 read before the other instance's commit."""
    only_rules(db_url, "worker_silent")
    async with backend.owner() as conn:  # this transaction plays the other instance
        await conn.execute("select pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        check = asyncio.ensure_future(asyncio.to_thread(alerts_check, db_url, tmp_path))
        for _ in range(600):  # until the command waits on the lock (or has given up)
            waiting = sql(
                db_url,
                "select count(*) as n from pg_locks where locktype = 'advisory' and not granted",
            )
            if check.done() or waiting[0]["n"]:
                break
            await asyncio.sleep(0.1)
        report = await evaluate_locked(conn, settings_for(), datetime.now(UTC))
        assert report.fired == 2
    result = await check
    assert result.returncode == 1, result.stdout + result.stderr
    assert "another instance was evaluating; this check waited" in result.stdout
    assert "2 firing" in result.stdout
    assert len(inbox.messages) == 2


def test_signed_links_verify_only_with_the_right_key() -> None:
    from dashboard.alerts.messages import verify

    assert verify(SECRET, "ack:7", sign(SECRET, "ack:7"))
    assert not verify(SECRET, "ack:8", sign(SECRET, "ack:7"))
    assert not verify("another-key", "ack:7", sign(SECRET, "ack:7"))
