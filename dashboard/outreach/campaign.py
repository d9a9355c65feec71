"""Starting and stopping the outreach campaign of one business.

`start_campaign` is what the trigger's route, the NOTIFY listener, the sweeper and the
reconciliation fix all call. Its gate is `set_outreach_status(..., 'starting')`, which
the database allows only from `pending` or `failed`, atomically: whoever wins the gate
calls the provider, everyone else gets `already`. So no business is started twice,
however many app instances, listeners and sweepers race for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from dashboard.backends.base import Backend, BackendError, Filter
from dashboard.data.automation import get_automation_config, log_automation_event
from dashboard.data.models import QualifiedBusiness
from dashboard.data.outreach import set_outreach_status
from dashboard.outreach.base import Lead, OutreachProvider, ProviderError

Outcome = Literal["started", "already", "failed", "skipped", "disabled"]
#: States in which emails may still go out, so a paid business must be stopped.
RUNNING = ("pending", "starting", "started", "failed")


@dataclass(frozen=True)
class StartResult:
    qualified_business_id: int
    outcome: Outcome
    detail: str = ""


class BusinessNotFound(LookupError):
    """No qualified business with that id or uuid."""


async def load_business(
    api: Backend, *, business_id: int | None = None, uuid: str | None = None
) -> QualifiedBusiness:
    column, value = ("id", business_id) if business_id is not None else ("uuid", uuid)
    page = await api.select("qualified_businesses", filters=[Filter(column, "eq", value)], limit=1)
    if not page.rows:
        raise BusinessNotFound(f"no qualified business with {column} {value}")
    return QualifiedBusiness.model_validate(page.rows[0])


async def start_campaign(
    api: Backend, provider: OutreachProvider, business_id: int, *, source: str
) -> StartResult:
    """Add the business to the campaign once; `source` says who asked (for the log)."""
    business = await load_business(api, business_id=business_id)
    if not (await get_automation_config(api)).outreach_enabled:
        return StartResult(business_id, "disabled", "outreach is disabled in automation_config")
    refusal = _why_not_start(business)
    if refusal is not None:
        return refusal
    if not business.email:
        await _settle(api, business_id, "skipped", error="no email address to write to")
        await _log(api, business, "warning", f"outreach skipped for {business.uuid}: no email", {})
        return StartResult(business_id, "skipped", "no email address to write to")
    try:
        await set_outreach_status(api, business_id, "starting")
    except BackendError as exc:
        if exc.code == "55000":
            return StartResult(business_id, "already", "another starter holds this business")
        raise
    return await _add_lead(api, provider, business, source)


def _why_not_start(business: QualifiedBusiness) -> StartResult | None:
    if business.claimed:
        return StartResult(business.id, "skipped", "the business has already paid")
    if business.site_status != "deployed":
        return StartResult(business.id, "skipped", f"site is {business.site_status}")
    if business.outreach_status not in ("pending", "failed"):
        return StartResult(business.id, "already", f"outreach is {business.outreach_status}")
    return None


async def _add_lead(
    api: Backend, provider: OutreachProvider, business: QualifiedBusiness, source: str
) -> StartResult:
    lead = Lead(
        qualified_business_id=business.id,
        uuid=business.uuid,
        name=business.name,
        email=business.email or "",
        city=business.city,
        category=business.category,
        preview_url=business.preview_url,
    )
    try:
        receipt = await provider.add_lead(lead)
    except ProviderError as exc:
        await set_outreach_status(api, business.id, "failed", error=str(exc))
        await _log(api, business, "warning", f"outreach failed for {business.uuid}: {exc}", {})
        return StartResult(business.id, "failed", str(exc))
    except BaseException:
        # Crashing mid-call must not leave the business stuck in 'starting'.
        await set_outreach_status(api, business.id, "failed", error="interrupted while starting")
        raise
    await set_outreach_status(
        api, business.id, "started", campaign_id=receipt.campaign_id, lead_id=receipt.lead_id
    )
    metadata: dict[str, Any] = {"provider": provider.name, "source": source, "uuid": business.uuid}
    metadata |= {"campaign_id": receipt.campaign_id, "lead_id": receipt.lead_id}
    metadata |= {k: v for k, v in receipt.details.items() if k in ("to", "subject", "body")}
    metadata |= {"site_url": lead.site_url, "claim_url": lead.claim_url}
    await _log(
        api, business, "info", f"outreach started for {business.uuid} ({lead.email})", metadata
    )
    fresh = await load_business(api, business_id=business.id)
    if fresh.claimed:  # paid while we were adding the lead: undo at once
        await stop_campaign(api, provider, fresh, reason="paid while outreach was starting")
    return StartResult(business.id, "started", receipt.lead_id or "")


async def stop_campaign(
    api: Backend, provider: OutreachProvider, business: QualifiedBusiness, *, reason: str
) -> dict[str, Any]:
    """Stop emailing this business; safe to repeat. Keeps replied/bounced/unsubscribed."""
    if business.outreach_status not in (*RUNNING, "replied"):
        return {
            "stopped": False,
            "note": f"outreach is {business.outreach_status}; nothing to stop",
        }
    result: dict[str, Any] = {"stopped": True}
    if business.outreach_lead_id or business.outreach_status in ("started", "replied"):
        result["provider"] = await provider.stop_lead(
            campaign_id=business.outreach_campaign_id,
            lead_id=business.outreach_lead_id,
            email=business.email,
        )
    if business.outreach_status in RUNNING:
        await set_outreach_status(api, business.id, "stopped")
    await _log(api, business, "info", f"outreach stopped for {business.uuid}: {reason}", result)
    return result


async def _settle(api: Backend, business_id: int, status: Literal["skipped"], error: str) -> None:
    try:
        await set_outreach_status(api, business_id, status, error=error)
    except BackendError as exc:
        if exc.code != "55000":
            raise


async def _log(
    api: Backend, business: QualifiedBusiness, level: Literal["info", "warning"], message: str,
    metadata: dict[str, Any],
) -> None:  # fmt: skip
    await log_automation_event(
        api, "outreach", level, message, business_id=business.pipeline_business_id,
        metadata={"qualified_business_id": business.id, **metadata},
    )  # fmt: skip
