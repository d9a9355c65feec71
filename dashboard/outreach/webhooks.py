"""Smartlead webhook events: authentication, parsing, and mapping to our business.

Authentication (Smartlead's docs describe both forms, so both are accepted, each
compared in constant time): the shared secret as `secret_key` in the JSON body, or an
HMAC-SHA256 of the raw body in `X-Smartlead-Signature` (hex, `sha256=` prefix allowed).

Deduplication key: the event's own `event_id` / `id` when present; otherwise a hash
of the body without `secret_key`, since Smartlead resends the same body on retry.

Mapping an event to a qualified business, first match wins:
1. the lead's custom field `cs_uuid` (we set it when adding the lead);
2. `sl_email_lead_id` = `qualified_businesses.outreach_lead_id`;
3. the lead's email (`sl_lead_email`, `to_email`) within the event's campaign.
An event that maps to nothing is still stored, with no business.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dashboard.backends.base import Backend, Filter
from dashboard.data.outreach import record_outreach_event
from dashboard.json_body import loads_bounded
from dashboard.outreach.base import UUID_FIELD

EVENT_TYPES = frozenset(
    {
        "EMAIL_SENT", "FIRST_EMAIL_SENT", "EMAIL_OPEN", "EMAIL_LINK_CLICK", "EMAIL_REPLY",
        "EMAIL_BOUNCE", "LEAD_UNSUBSCRIBED", "LEAD_CATEGORY_UPDATED",
    }
)  # fmt: skip
SIGNATURE_HEADERS = ("x-smartlead-signature", "x-signature")
TIME_FIELDS = ("event_timestamp", "time_sent", "time_replied", "time_opened", "time_clicked")


class MalformedEvent(ValueError):
    """The body is not a Smartlead event; the message says what is wrong."""


@dataclass(frozen=True)
class EventReceipt:
    is_new: bool
    event_id: int
    event_type: str
    known_type: bool
    qualified_business_id: int | None


def signature_ok(secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """True when an HMAC header is present and matches the raw body."""
    for name in SIGNATURE_HEADERS:
        given = headers.get(name)
        if given:
            given = given.strip().removeprefix("sha256=")
            expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            return hmac.compare_digest(expected.encode(), given.encode())
    return False


#: `"secret_key": "<value>"` in the raw body; a value with escapes never matches a secret
#: we generate (letters, digits, `-` and `_`), so it is refused before any parsing.
_BODY_SECRET = re.compile(rb'"secret_key"\s*:\s*"([^"\\]{0,512})"')


def raw_body_secret_ok(secret: str, body: bytes) -> bool:
    """True when the raw body carries `"secret_key": "<secret>"`, found without parsing
    the JSON and compared in constant time: an unauthenticated body is never parsed.
    (`body_secret_ok` confirms it on the parsed event, so the match was a real key.)"""
    matched = False
    for match in _BODY_SECRET.finditer(body[: 1024 * 1024]):
        matched |= hmac.compare_digest(secret.encode(), match.group(1))
    return matched


def body_secret_ok(secret: str, event: Mapping[str, Any]) -> bool:
    given = event.get("secret_key")
    return isinstance(given, str) and hmac.compare_digest(secret.encode(), given.encode())


def contains_nul(value: Any) -> bool:
    """True if any string in a JSON value holds U+0000, which PostgreSQL text cannot store."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(contains_nul(v) for v in value)
    return False


def parse_event(body: bytes) -> dict[str, Any]:
    try:
        event = loads_bounded(body)
    except ValueError as exc:
        raise MalformedEvent(f"the body is not a JSON Smartlead event object: {exc}") from None
    if not isinstance(event, dict):
        raise MalformedEvent("the body must be one JSON object (a Smartlead event)")
    if contains_nul(event):
        raise MalformedEvent("the event holds a NUL character (\\u0000), which cannot be stored")
    event_type = event.get("event_type")
    if not isinstance(event_type, str) or not 1 <= len(event_type) <= 100:
        raise MalformedEvent("event_type is missing: expected e.g. EMAIL_SENT or EMAIL_REPLY")
    return event


def provider_event_id(event: Mapping[str, Any]) -> str:
    for key in ("event_id", "id"):
        value = event.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return f"{event['event_type']}:{value}"[:300]
    clean = {k: v for k, v in event.items() if k != "secret_key"}
    canonical = json.dumps(clean, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def occurred_at(event: Mapping[str, Any]) -> datetime | None:
    for key in TIME_FIELDS:
        value = event.get(key)
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            if moment.tzinfo is not None and 2000 <= moment.year <= 2200:
                return moment.astimezone(UTC)
    return None


async def find_business(api: Backend, event: Mapping[str, Any]) -> int | None:
    lead = event.get("lead_data") if isinstance(event.get("lead_data"), dict) else {}
    assert isinstance(lead, dict)
    fields = lead.get("custom_fields") or event.get("custom_fields") or {}
    uuid = fields.get(UUID_FIELD) if isinstance(fields, dict) else None
    uuid = uuid or event.get(UUID_FIELD)
    lead_id = event.get("sl_email_lead_id") or event.get("lead_id") or lead.get("id")
    email = event.get("sl_lead_email") or event.get("to_email") or lead.get("email")
    tries: list[list[Filter]] = []
    if isinstance(uuid, str):
        tries.append([Filter("uuid", "eq", uuid)])
    if isinstance(lead_id, str | int) and not isinstance(lead_id, bool):
        tries.append([Filter("outreach_lead_id", "eq", str(lead_id))])
    if isinstance(email, str) and email:
        by_email = [Filter("email", "ilike", email.replace("%", r"\%").replace("_", r"\_"))]
        if isinstance(event.get("campaign_id"), str | int):
            by_email.append(Filter("outreach_campaign_id", "eq", str(event["campaign_id"])))
        tries.append(by_email)
    for filters in tries:
        page = await api.select("qualified_businesses", columns="id", filters=filters, limit=1)
        if page.rows:
            return int(page.rows[0]["id"])
    return None


async def record_event(api: Backend, event: dict[str, Any]) -> EventReceipt:
    """Store the event once and let the database move the outreach columns forward."""
    business_id = await find_business(api, event)
    stored = {k: v for k, v in event.items() if k != "secret_key"}
    event_type = str(event["event_type"])
    receipt = await record_outreach_event(
        api, "smartlead", provider_event_id(event), event_type, stored, business_id,
        occurred_at(event),
    )  # fmt: skip
    return EventReceipt(
        receipt.is_new, receipt.event_id, event_type, event_type in EVENT_TYPES, business_id
    )
