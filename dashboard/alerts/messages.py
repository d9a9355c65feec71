"""The words of an alert message and the signed links in it.

A message says what is wrong, since when, what it affects, and links to the page that
fixes it, plus two signed links: acknowledge the alert, and mute its rule for an hour.
The links carry an HMAC under SECRET_KEY, so a guessed URL does nothing; they open
pages under /admin, which still ask for sign-in (and MFA) first, and the action waits
for a click there.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlencode

from dashboard.data.alerts import AlertRow
from dashboard.settings import Settings

Message = Literal["firing", "reminder", "resolved"]
PREFIX = {"firing": "[ALERT]", "reminder": "[STILL FIRING]", "resolved": "[RESOLVED]"}


def sign(secret: str, action: str) -> str:
    return hmac.new(secret.encode(), action.encode(), hashlib.sha256).hexdigest()[:32]


def verify(secret: str, action: str, signature: str) -> bool:
    return bool(secret) and hmac.compare_digest(sign(secret, action), signature or "")


def base_url(settings: Settings) -> str:
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/")
    return f"http://{settings.host}:{settings.port}"


def action_link(settings: Settings, action: str) -> str:
    """`/admin/alerts?do=<action>&sig=...` for `ack:<id>` or `mute:<kind>:<hours>`."""
    query = urlencode({"do": action, "sig": sign(settings.secret_key, action)})
    return f"{base_url(settings)}/admin/alerts?{query}"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def compose(
    settings: Settings, alert: AlertRow, message: Message, now: datetime
) -> tuple[str, str, dict[str, Any]]:
    """Subject, plain-text body and the structured payload of one message."""
    subject = f"{PREFIX[message]} CliftonSites: {alert.title}"
    fix = f"{base_url(settings)}/admin{alert.href}"
    affects = str(alert.details.get("affects", ""))
    lines = [
        {
            "firing": "An alert started.",
            "reminder": "This alert is still firing.",
            "resolved": "This alert has resolved.",
        }[message],
        "",
        f"What:     {alert.title}",
        f"Since:    {_when(alert.condition_since)}",
    ]
    if message == "resolved":
        lines.append(f"Resolved: {_when(alert.resolved_at or now)}")
    if affects:
        lines.append(f"Affects:  {affects}")
    lines += ["", f"Fix it here: {fix}"]
    if message != "resolved":
        lines += [
            f"Acknowledge (no more reminders): {action_link(settings, f'ack:{alert.id}')}",
            f"Mute this rule for 1 hour: {action_link(settings, f'mute:{alert.kind}:1')}",
        ]
    lines += ["", f"Alert #{alert.id}, rule {alert.kind}, subject {alert.subject}."]
    payload = {
        "alert_id": alert.id,
        "rule": alert.kind,
        "subject": alert.subject,
        "message": message,
        "title": alert.title,
        "since": alert.condition_since.isoformat(),
        "url": fix,
        "affects": affects,
    }
    return subject, "\n".join(lines) + "\n", payload
