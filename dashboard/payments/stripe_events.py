"""Stripe webhook events: verify, store once, process once, in any order.

`verify_event` checks `Stripe-Signature` with the official library (300 s tolerance).
`handle_event` stores the event (`record_stripe_event`) and processes it under a lock
on its id, so copies that arrive together queue and then answer `duplicate`. Every
side effect is keyed in `stripe_idempotency` (see `effects`), so a retry after a crash
finishes the remaining effects and repeats none. A refund or dispute that arrives
before its checkout is kept (`received`, "deferred") and applied by the checkout.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import stripe

from dashboard.backends.base import Filter
from dashboard.backends.postgres import PostgresBackend
from dashboard.data.payments import record_stripe_event
from dashboard.json_body import loads_bounded
from dashboard.outreach.base import OutreachProvider
from dashboard.outreach.webhooks import contains_nul
from dashboard.payments.checkout import apply_checkout, apply_review_event
from dashboard.payments.locking import locked

TOLERANCE_SECONDS = 300
Status = Literal["processed", "ignored", "failed", "deferred", "duplicate"]


class InvalidEvent(ValueError):
    """The request is not a correctly signed Stripe event; the message says why."""


@dataclass(frozen=True)
class Outcome:
    status: Status
    detail: str = ""
    qualified_business_id: int | None = None
    #: 500 asks Stripe to retry (a transient failure); everything else is final.
    http_status: int = 200


def verify_event(payload: bytes, signature: str | None, secret: str) -> dict[str, Any]:
    """The event as a dict, or InvalidEvent naming what is wrong."""
    try:  # the signature first, on the raw bytes: an unsigned body is never parsed
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"), signature or "", secret, tolerance=TOLERANCE_SECONDS
        )
    except stripe.SignatureVerificationError as exc:
        raise InvalidEvent(f"Stripe-Signature does not verify: {exc.user_message or exc}") from None
    except UnicodeDecodeError:
        raise InvalidEvent("the body is not a JSON Stripe event (not UTF-8)") from None
    try:
        event = loads_bounded(payload)
    except ValueError as exc:
        raise InvalidEvent(f"the body is not a JSON Stripe event: {exc}") from None
    if not isinstance(event, dict):
        raise InvalidEvent("the body must be a JSON object (a Stripe event)")
    if contains_nul(event):
        raise InvalidEvent("the event holds a NUL character (\\u0000), which cannot be stored")
    if not isinstance(event.get("id"), str) or not 1 <= len(event["id"]) <= 255:
        raise InvalidEvent("the event has no id (expected e.g. evt_...)")
    if not isinstance(event.get("type"), str) or not event["type"]:
        raise InvalidEvent("the event has no type")
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise InvalidEvent("the event has no data.object")
    return event


def _created(event: dict[str, Any]) -> datetime | None:
    created = event.get("created")
    if isinstance(created, int) and not isinstance(created, bool) and 0 < created < 2**33:
        return datetime.fromtimestamp(created, UTC)
    return None


async def handle_event(
    db: PostgresBackend, provider: OutreachProvider, event: dict[str, Any]
) -> Outcome:
    """Store a verified event once and process it unless that is already done."""
    receipt = await record_stripe_event(db, event["id"], event["type"], event, _created(event))
    if receipt.status in ("processed", "ignored"):
        return Outcome("duplicate", f"event {event['id']} was already {receipt.status}")
    return await process_event(db, provider, event)


async def process_event(
    db: PostgresBackend, provider: OutreachProvider, event: dict[str, Any]
) -> Outcome:
    """Process a stored event under its lock; also used by reconciliation to retry."""
    async with locked(db, f"stripe:{event['id']}") as pinned:
        page = await pinned.select(
            "stripe_events", columns="status", filters=[Filter("id", "eq", event["id"])]
        )
        if page.rows and page.rows[0]["status"] in ("processed", "ignored"):
            return Outcome("duplicate", f"event {event['id']} was already processed")
        await _set_status(pinned, event["id"], "processing")
        try:
            outcome = await _dispatch(pinned, provider, event)
        except Exception as exc:  # recorded as failed; Stripe (or an admin) retries it
            await _set_status(pinned, event["id"], "failed", error=f"{type(exc).__name__}: {exc}")
            return Outcome("failed", str(exc), http_status=500)
        await _finish(pinned, event["id"], outcome)
        return outcome


async def _dispatch(
    db: PostgresBackend, provider: OutreachProvider, event: dict[str, Any]
) -> Outcome:
    kind, obj = event["type"], event["data"]["object"]
    if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        return Outcome(**await apply_checkout(db, provider, event["id"], obj))
    if kind in ("charge.refunded", "charge.dispute.created"):
        return Outcome(**await apply_review_event(db, event["id"], kind, obj))
    return Outcome("ignored", f"{kind} needs no action")


async def _finish(db: PostgresBackend, event_id: str, outcome: Outcome) -> None:
    status = {"deferred": "received", "duplicate": "processed"}.get(outcome.status, outcome.status)
    error = outcome.detail if outcome.status in ("failed", "deferred") else None
    await _set_status(db, event_id, status, error=error, business=outcome.qualified_business_id)


async def _set_status(
    db: PostgresBackend,
    event_id: str,
    status: str,
    *,
    error: str | None = None,
    business: int | None = None,
) -> None:
    values: dict[str, Any] = {"status": status, "error": error[:2000] if error else None}
    if status in ("processed", "ignored"):
        values["processed_at"] = datetime.now(UTC)
    if business is not None:
        values["qualified_business_id"] = business
    filters = [Filter("id", "eq", event_id)]
    if status != "processing":  # never overwrite what a concurrent checkout settled
        filters.append(Filter("status", "eq", "processing"))
    await db.update("stripe_events", values, filters=filters)
