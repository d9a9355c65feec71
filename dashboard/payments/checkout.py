"""What each Stripe event does to a business: a paid checkout claims it, activates the
site and stops outreach; a refund or dispute flags it for review.

Work on one payment holds the lock `payment:<payment id>`, and a checkout also holds
`business:<uuid>`, always in that order. So a refund that races its own checkout
either sees the claimed business or is found by the checkout as deferred, and two
payments for one business never stop its outreach twice.
"""

from __future__ import annotations

import re
from typing import Any

from dashboard.backends.base import SERVICE, BackendError, Filter
from dashboard.backends.postgres import PostgresBackend
from dashboard.data.automation import log_automation_event
from dashboard.data.models import QualifiedBusiness
from dashboard.data.payments import mark_business_claimed
from dashboard.outreach.base import OutreachProvider
from dashboard.outreach.campaign import load_business
from dashboard.payments.effects import (
    activate_site,
    effect_done,
    mark_for_review,
    stop_for_payment,
)
from dashboard.payments.locking import locked

UUID_RE = re.compile(r"[a-z0-9]{8}")
#: What mark_business_claimed accepts; anything else is kept only in the event payload.
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+")
REVIEW_TYPES = ("charge.refunded", "charge.dispute.created")
DEFERRED_SQL = """
select id, type, payload -> 'data' -> 'object' as object from public.stripe_events
where type = any(%s) and status in ('received', 'failed') and id <> %s
  and payload #>> '{data,object,payment_intent}' = %s
order by received_at
"""


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _checkout_fields(session: dict[str, Any]) -> tuple[str, str, str | None, str | None] | str:
    """(uuid, payment id, email, customer id), or why this checkout is not ours to act on."""
    uuid = _text(session.get("client_reference_id"))
    if uuid is None:
        return "no client_reference_id: not a CliftonSites checkout"
    if not UUID_RE.fullmatch(uuid):
        return f"client_reference_id {uuid[:40]!r} is not a business uuid (8 letters or digits)"
    if session.get("payment_status") not in ("paid", "no_payment_required"):
        return "not paid yet: waiting for checkout.session.async_payment_succeeded"
    payment_id = _text(session.get("payment_intent")) or _text(session.get("id"))
    if payment_id is None:
        return "the session has neither payment_intent nor id"
    details = session.get("customer_details")
    email = _text(details.get("email")) if isinstance(details, dict) else None
    email = email or _text(session.get("customer_email"))
    if email is not None and (len(email) > 320 or not EMAIL_RE.fullmatch(email)):
        email = None
    return uuid, payment_id[:255], email, _text(session.get("customer"))


async def apply_checkout(
    db: PostgresBackend, provider: OutreachProvider, event_id: str, session: dict[str, Any]
) -> dict[str, Any]:
    fields = _checkout_fields(session)
    if isinstance(fields, str):
        return {"status": "ignored", "detail": fields}
    uuid, payment_id, email, customer = fields
    async with locked(db, f"payment:{payment_id}") as pinned, locked(pinned, f"business:{uuid}"):
        first = not await effect_done(pinned, f"claim:{uuid}")
        try:
            business = await mark_business_claimed(
                pinned, uuid, payment_id, email, customer, event_id
            )
        except BackendError as exc:
            return await _claim_refused(pinned, exc, uuid, payment_id, event_id)
        if first:
            await _log_claim(pinned, business, payment_id, event_id)
        await activate_site(pinned, business.id, event_id=event_id, source="stripe")
        await stop_for_payment(pinned, provider, business.id, event_id=event_id)
        await _apply_deferred(pinned, business, payment_id, event_id)
    return {
        "status": "processed",
        "detail": f"claimed {uuid}",
        "qualified_business_id": business.id,
    }


async def _claim_refused(
    db: PostgresBackend, exc: BackendError, uuid: str, payment_id: str, event_id: str
) -> dict[str, Any]:
    if exc.code == "P0002":
        return {"status": "failed", "detail": f"no qualified business has uuid {uuid}"}
    if exc.code != "55000":
        raise exc
    business = await load_business(db, uuid=uuid)
    reason = (
        f"paid twice: payment {payment_id} arrived after {business.stripe_payment_id};"
        " refund one of them"
    )
    await mark_for_review(db, business.id, reason, event_id=event_id)
    return {"status": "failed", "detail": reason, "qualified_business_id": business.id}


async def _log_claim(
    db: PostgresBackend, business: QualifiedBusiness, payment_id: str, event_id: str
) -> None:
    await log_automation_event(
        db, "payments", "info", f"business {business.uuid} claimed by payment {payment_id}",
        business_id=business.pipeline_business_id,
        metadata={"qualified_business_id": business.id, "event_id": event_id,
                  "customer_email": business.customer_email},
    )  # fmt: skip


def review_reason(kind: str, obj: dict[str, Any]) -> str:
    currency = str(obj.get("currency") or "").upper()
    if kind == "charge.refunded":
        amount = obj.get("amount_refunded") or obj.get("amount") or 0
        scope = "full" if obj.get("refunded") else "partial"
        return f"refunded ({scope}, {_money(amount)} {currency})".replace(" )", ")")
    amount = obj.get("amount") or 0
    return f"dispute opened ({obj.get('reason') or 'no reason given'}, {_money(amount)} {currency})"


def _money(cents: Any) -> str:
    return f"{cents / 100:.2f}" if isinstance(cents, int) and not isinstance(cents, bool) else "?"


async def apply_review_event(
    db: PostgresBackend, event_id: str, kind: str, obj: dict[str, Any]
) -> dict[str, Any]:
    payment_id = _text(obj.get("payment_intent"))
    if payment_id is None:
        return {"status": "ignored", "detail": f"{kind} without payment_intent"}
    async with locked(db, f"payment:{payment_id}") as pinned:
        page = await pinned.select(
            "qualified_businesses",
            columns="id",
            filters=[Filter("stripe_payment_id", "eq", payment_id)],
            limit=1,
        )
        if not page.rows:
            detail = f"deferred: no business has payment {payment_id} yet; its checkout applies it"
            # Recorded inside the lock, so that the checkout (which takes it next) finds it.
            await pinned.update(
                "stripe_events",
                {"status": "received", "error": detail},
                filters=[Filter("id", "eq", event_id), Filter("status", "eq", "processing")],
            )
            return {"status": "deferred", "detail": detail}
        business_id = int(page.rows[0]["id"])
        await mark_for_review(pinned, business_id, review_reason(kind, obj), event_id=event_id)
    return {"status": "processed", "detail": kind, "qualified_business_id": business_id}


async def _apply_deferred(
    db: PostgresBackend, business: QualifiedBusiness, payment_id: str, event_id: str
) -> None:
    """Refunds and disputes for this payment that arrived before its checkout."""
    async with db.as_caller(SERVICE) as conn:
        cur = await conn.execute(DEFERRED_SQL, (list(REVIEW_TYPES), event_id, payment_id))
        rows = await cur.fetchall()
    for row in rows:
        await mark_for_review(
            db, business.id, review_reason(row["type"], row["object"]), event_id=row["id"]
        )
        async with db.as_caller(SERVICE) as conn:
            await conn.execute(
                "update public.stripe_events set status = 'processed', processed_at = now(),"
                " error = null, qualified_business_id = %s where id = %s",
                (business.id, row["id"]),
            )
