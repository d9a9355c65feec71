"""Payments: Stripe events stored once, and the claim of a business (RPC 22, 23)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dashboard.backends.base import SERVICE, Backend, Caller
from dashboard.data._rpc import one
from dashboard.data.models import QualifiedBusiness, StripeEventReceipt


async def record_stripe_event(
    api: Backend,
    event_id: str,
    type: str,
    payload: Mapping[str, Any],
    created: datetime | None = None,
    *,
    caller: Caller = SERVICE,
) -> StripeEventReceipt:
    """Store a Stripe event once; says whether this delivery is the first (RPC 22)."""
    params = {
        "p_id": event_id,
        "p_type": type,
        "p_payload": dict(payload),
        "p_created": created.isoformat() if created else None,
    }
    row = await api.rpc("record_stripe_event", params, caller=caller)
    return one(StripeEventReceipt, row, "record_stripe_event")


async def mark_business_claimed(
    api: Backend,
    uuid: str,
    payment_id: str,
    customer_email: str | None = None,
    customer_id: str | None = None,
    event_id: str | None = None,
    *,
    caller: Caller = SERVICE,
) -> QualifiedBusiness:
    """Claim the business by its public uuid for a payment; idempotent (RPC 23)."""
    params = {
        "p_uuid": uuid,
        "p_payment_id": payment_id,
        "p_customer_email": customer_email,
        "p_customer_id": customer_id,
        "p_event_id": event_id,
    }
    row = await api.rpc("mark_business_claimed", params, caller=caller)
    return one(QualifiedBusiness, row, "mark_business_claimed")
