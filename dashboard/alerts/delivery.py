"""Delivering the outbox: email over SMTP (aiosmtplib), a Slack-compatible signed
webhook (httpx), or a local folder when SMTP_URL is unset (the demo's default, as
outreach's outbox is).

- `SMTP_URL`: `smtp://user:pass@host:587` upgrades with STARTTLS when the server offers
  it; `smtps://user:pass@host:465` speaks TLS from the start. `ALERT_EMAIL_FROM` is the
  sender, `ALERT_EMAIL_TO` (comma-separated) the recipients of the default rules.
- `ALERT_WEBHOOK_URL`: a JSON POST with Slack's `text` field (so a Slack incoming
  webhook shows it) and the alert's fields under `alert`. With `ALERT_WEBHOOK_SECRET`
  set, header `X-CliftonSites-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
  "<t>.<body>">` lets any other receiver check it came from us.

`deliver_due` sends each due message once: it takes one row at a time with
`FOR UPDATE SKIP LOCKED`, so two instances never send the same message, and marks it
sent in the same transaction. A failure is retried with exponential backoff
(30 s, 1 min, 2 min, ... up to 30 min, 10 attempts), then marked failed; the alerts
page shows both.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiosmtplib
import httpx

from dashboard.backends.postgres import PostgresBackend
from dashboard.backoff import Backoff
from dashboard.data import alerts as store
from dashboard.data.alerts import OutboxRow
from dashboard.settings import Settings

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 10
#: 30 s after the first failure, doubling to 30 min.
RETRY = Backoff(30.0, 1800.0)
SEND_TIMEOUT = 20.0
SIGNATURE_HEADER = "X-CliftonSites-Signature"
Sender = Callable[[OutboxRow], Awaitable[None]]


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failure."""
    return timedelta(seconds=RETRY.delay(attempts))


def email_message(settings: Settings, message: OutboxRow) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = settings.alert_email_from
    mail["To"] = ", ".join(message.recipients) or "admins"
    mail["Subject"] = message.subject
    mail["X-CliftonSites-Alert"] = f"{message.payload.get('alert_id')} {message.message}"
    mail.set_content(message.body)
    return mail


async def send_smtp(settings: Settings, message: OutboxRow) -> None:
    url = urlsplit(settings.smtp_url)
    implicit_tls = url.scheme == "smtps"
    await aiosmtplib.send(
        email_message(settings, message),
        hostname=url.hostname or "localhost",
        port=url.port or (465 if implicit_tls else 587),
        username=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password else None,
        use_tls=implicit_tls,
        start_tls=False if implicit_tls else None,  # None: STARTTLS when offered
        timeout=SEND_TIMEOUT,
    )


def sign_webhook(secret: str, body: bytes, now: float) -> str:
    stamp = str(int(now))
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
    return f"t={stamp},v1={digest.hexdigest()}"


def webhook_body(message: OutboxRow) -> bytes:
    text = f"*{message.subject}*\n{message.body}"
    return json.dumps({"text": text, "alert": message.payload}, sort_keys=True).encode()


async def send_webhook(settings: Settings, message: OutboxRow) -> None:
    body = webhook_body(message)
    headers = {"Content-Type": "application/json"}
    if settings.alert_webhook_secret:
        headers[SIGNATURE_HEADER] = sign_webhook(settings.alert_webhook_secret, body, time.time())
    async with httpx.AsyncClient(timeout=SEND_TIMEOUT) as client:
        response = await client.post(settings.alert_webhook_url, content=body, headers=headers)
    if response.status_code >= 300:
        raise RuntimeError(f"webhook answered {response.status_code}: {response.text[:200]}")


def outbox_folder(settings: Settings) -> Path:
    return settings.data_dir / "alerts-outbox"


async def send_to_folder(settings: Settings, message: OutboxRow) -> None:
    folder = outbox_folder(settings)
    text = email_message(settings, message).as_string()

    def write() -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{message.id:06d}-{message.message}.eml").write_text(text)

    await asyncio.to_thread(write)


def destinations(settings: Settings) -> str:
    """Where alert messages go, in one sentence (the alerts page and `make demo` say it)."""
    if settings.smtp_url:
        to = ", ".join(settings.alert_recipients) or "nobody: set ALERT_EMAIL_TO"
        email = f"email over {settings.smtp_url.split('@')[-1]} to {to}"
    else:
        email = f"email written to the folder {outbox_folder(settings)} (SMTP_URL is unset)"
    if settings.alert_webhook_url:
        signed = "signed" if settings.alert_webhook_secret else "unsigned: set ALERT_WEBHOOK_SECRET"
        hook = f"webhook to {settings.alert_webhook_url.split('?')[0]} ({signed})"
    else:
        hook = "no webhook (ALERT_WEBHOOK_URL is unset)"
    return f"Alerts go to: {email}; {hook}."


def default_senders(settings: Settings) -> dict[str, Sender]:
    async def email(m: OutboxRow) -> None:
        await send_smtp(settings, m)

    async def webhook(m: OutboxRow) -> None:
        await send_webhook(settings, m)

    async def folder(m: OutboxRow) -> None:
        await send_to_folder(settings, m)

    return {"email": email, "webhook": webhook, "folder": folder}


async def deliver_due(
    db: PostgresBackend,
    senders: dict[str, Sender],
    now: datetime,
    *,
    limit: int = 50,
) -> tuple[int, int]:
    """Send every due message (at most `limit`); returns (sent, failed attempts)."""
    sent = failed = 0
    for _ in range(limit):
        async with db.owner() as conn:
            message = await store.claim_due_message(conn, now)
            if message is None:
                break
            try:
                await senders[message.channel](message)
            except Exception as exc:  # any failure of the outside world: retry later
                attempts = message.attempts + 1
                retry = now + backoff(attempts) if attempts < MAX_ATTEMPTS else None
                log.warning("alert message %s (%s) failed: %s", message.id, message.channel, exc)
                await store.mark_failed(conn, message.id, f"{type(exc).__name__}: {exc}", retry)
                failed += 1
            else:
                await store.mark_sent(conn, message.id, now)
                sent += 1
    return sent, failed
