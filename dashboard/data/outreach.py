"""Outreach: provider events stored once, and campaign status per business (RPC 24, 25)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from dashboard.backends.base import SERVICE, Backend, Caller
from dashboard.data._rpc import one
from dashboard.data.models import OutreachEventReceipt, QualifiedBusiness

SettableOutreachStatus = Literal["pending", "starting", "started", "failed", "stopped", "skipped"]


async def record_outreach_event(
    api: Backend,
    provider: str,
    provider_event_id: str,
    event_type: str,
    payload: Mapping[str, Any] | None = None,
    qualified_business_id: int | None = None,
    occurred_at: datetime | None = None,
    *,
    caller: Caller = SERVICE,
) -> OutreachEventReceipt:
    """Store a provider event once and move the business's outreach state forward (RPC 24)."""
    params = {
        "p_provider": provider,
        "p_provider_event_id": provider_event_id,
        "p_event_type": event_type,
        "p_payload": dict(payload or {}),
        "p_qualified_business_id": qualified_business_id,
        "p_occurred_at": occurred_at.isoformat() if occurred_at else None,
    }
    row = await api.rpc("record_outreach_event", params, caller=caller)
    return one(OutreachEventReceipt, row, "record_outreach_event")


async def set_outreach_status(
    api: Backend,
    qualified_business_id: int,
    status: SettableOutreachStatus,
    campaign_id: str | None = None,
    lead_id: str | None = None,
    error: str | None = None,
    *,
    caller: Caller = SERVICE,
) -> QualifiedBusiness:
    """Record a campaign step; `starting` is atomic (55000 if already started) (RPC 25)."""
    params = {
        "p_qualified_business_id": qualified_business_id,
        "p_status": status,
        "p_campaign_id": campaign_id,
        "p_lead_id": lead_id,
        "p_error": error,
    }
    row = await api.rpc("set_outreach_status", params, caller=caller)
    return one(QualifiedBusiness, row, "set_outreach_status")
