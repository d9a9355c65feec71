"""Reconciliation: where money and outreach disagree, and the one-click fix for each.

`list_mismatches(api)` returns typed findings, oldest problems first:
- `paid_outreach_running`: claimed, but outreach may still email the owner;
- `deployed_no_outreach`: deployed and unclaimed, but outreach never started after
  the sweep window (pending or failed), or is stuck in `starting`;
- `claimed_site_inactive`: claimed, but the site is not active;
- `stripe_event_failed`: a Stripe event that failed, or was never finished.

`fix(api, finding, actor)` runs the same code the webhooks run (so it is idempotent)
and writes an `admin_audit_log` row (`reconcile_fix`) with what it did.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from dashboard.auth.actor import Actor
from dashboard.backends.base import Backend, Filter, Order
from dashboard.backends.postgres import PostgresBackend
from dashboard.data.automation import get_automation_config
from dashboard.data.outreach import set_outreach_status
from dashboard.outreach.base import OutreachProvider
from dashboard.outreach.campaign import (
    RUNNING,
    load_business,
    start_campaign,
    stop_campaign,
)
from dashboard.payments.effects import activate_site
from dashboard.payments.stripe_events import process_event

Kind = Literal[
    "paid_outreach_running", "deployed_no_outreach", "claimed_site_inactive", "stripe_event_failed"
]
TITLES: dict[Kind, str] = {
    "paid_outreach_running": "Paid, but outreach is still running",
    "deployed_no_outreach": "Deployed, but no outreach after the sweep window",
    "claimed_site_inactive": "Claimed, but the site is not active",
    "stripe_event_failed": "Stripe event failed or unfinished",
}
FIX_LABELS: dict[Kind, str] = {
    "paid_outreach_running": "Stop outreach",
    "deployed_no_outreach": "Start outreach",
    "claimed_site_inactive": "Activate site",
    "stripe_event_failed": "Process again",
}
STUCK_AFTER = timedelta(minutes=10)
LIMIT = 200


@dataclass(frozen=True)
class Finding:
    kind: Kind
    #: The business uuid, or the Stripe event id for `stripe_event_failed`.
    subject: str
    detail: str
    qualified_business_id: int | None = None
    since: datetime | None = None
    #: The pipeline business (its page is /admin/businesses/<id>), when there is one.
    business_id: int | None = None

    @property
    def title(self) -> str:
        return TITLES[self.kind]

    @property
    def fix_label(self) -> str:
        return FIX_LABELS[self.kind]


async def _businesses(
    api: Backend, filters: list[Filter], order: str, kind: Kind, more: set[Kind]
) -> list[dict[str, Any]]:
    # id breaks ties (rows written by one statement share their now()), so the list an
    # admin sees keeps its order from one read to the next
    page = await api.select(
        "qualified_businesses", filters=filters, order=[Order(order), Order("id")], limit=LIMIT
    )
    if len(page.rows) >= LIMIT:
        more.add(kind)
    return page.rows


async def list_mismatches(
    api: Backend, *, now: datetime | None = None, more: set[Kind] | None = None
) -> list[Finding]:
    """Every mismatch, oldest first, at most `LIMIT` per query; the kinds that had more
    than that are added to `more` (when given), so a caller can say the list is partial."""
    now = now or datetime.now(UTC)
    more = set() if more is None else more
    config = await get_automation_config(api)
    enabled, minutes = config.outreach_enabled, config.outreach_sweep_minutes
    found: list[Finding] = []
    for row in await _businesses(
        api, [Filter("claimed", "is", True), Filter("outreach_status", "in", RUNNING)],
        "claimed_at", "paid_outreach_running", more,
    ):  # fmt: skip
        detail = f"paid, outreach is {row['outreach_status']}"
        found.append(_business_finding("paid_outreach_running", row, detail, row["claimed_at"]))
    found += await _no_outreach(api, now, minutes, more) if enabled else []
    for row in await _businesses(
        api, [Filter("claimed", "is", True), Filter("site_status", "neq", "active")],
        "claimed_at", "claimed_site_inactive", more,
    ):  # fmt: skip
        detail = f"paid, site is {row['site_status']}"
        found.append(_business_finding("claimed_site_inactive", row, detail, row["claimed_at"]))
    found += await _stripe_failures(api, now, more)
    return found


def _business_finding(kind: Kind, row: dict[str, Any], detail: str, since: Any) -> Finding:
    business_id = row.get("pipeline_business_id")
    return Finding(
        kind, row["uuid"], f"{row['name']}: {detail}", int(row["id"]), since,
        int(business_id) if business_id is not None else None,
    )  # fmt: skip


async def _no_outreach(api: Backend, now: datetime, minutes: int, more: set[Kind]) -> list[Finding]:
    base = [Filter("site_status", "eq", "deployed"), Filter("claimed", "is", False)]
    window = (now - timedelta(minutes=minutes)).isoformat()
    late = await _businesses(
        api,
        [*base, Filter("outreach_status", "in", ["pending", "failed"]),
         Filter("deployed_at", "lt", window)],
        "deployed_at", "deployed_no_outreach", more,
    )  # fmt: skip
    stuck = await _businesses(
        api,
        [*base, Filter("outreach_status", "eq", "starting"),
         Filter("updated_at", "lt", (now - STUCK_AFTER).isoformat())],
        "updated_at", "deployed_no_outreach", more,
    )  # fmt: skip
    findings = []
    for row in late + stuck:
        detail = f"deployed, outreach is {row['outreach_status']}"
        if row.get("outreach_error"):
            detail += f" ({row['outreach_error']})"
        findings.append(_business_finding("deployed_no_outreach", row, detail, row["deployed_at"]))
    return findings


async def _stripe_failures(api: Backend, now: datetime, more: set[Kind]) -> list[Finding]:
    failed = await api.select(
        "stripe_events", columns="id,type,status,error,received_at,qualified_business_id",
        filters=[Filter("status", "eq", "failed")], order=[Order("received_at")], limit=LIMIT,
    )  # fmt: skip
    unfinished = await api.select(
        "stripe_events", columns="id,type,status,error,received_at,qualified_business_id",
        filters=[Filter("status", "in", ["received", "processing"]),
                 Filter("received_at", "lt", (now - STUCK_AFTER).isoformat())],
        order=[Order("received_at")], limit=LIMIT,
    )  # fmt: skip
    if max(len(failed.rows), len(unfinished.rows)) >= LIMIT:
        more.add("stripe_event_failed")
    return [
        Finding(
            "stripe_event_failed",
            row["id"],
            f"{row['type']} is {row['status']}: {row['error'] or 'never finished'}",
            row["qualified_business_id"],
            row["received_at"],
        )
        for row in failed.rows + unfinished.rows
    ]


async def fix(
    api: Backend,
    finding: Finding,
    actor: Actor,
    *,
    db: PostgresBackend | None = None,
    provider: OutreachProvider | None = None,
) -> dict[str, Any]:
    """Apply the finding's fix (idempotent) and write it to the audit log, naming the
    admin (`actor_id` and `actor_email`) from whichever entry point it came."""
    db, provider = _defaults(api, db, provider)
    result = await _apply(api, db, provider, finding, actor.email)
    await api.insert(
        "admin_audit_log",
        [{"actor_id": actor.id, "actor_email": actor.email, "action": "reconcile_fix",
          "target": f"{finding.kind}:{finding.subject}",
          "details": {"finding": finding.detail, "fix": finding.fix_label, "result": result}}],
    )  # fmt: skip
    return result


#: Results of a fix that changed nothing: the event processor's statuses, the campaign
#: starter's outcomes, and an activation or stop that found nothing to do.
UNCHANGED = frozenset(
    {"failed", "duplicate", "ignored", "deferred", "disabled", "skipped", "already"}
)
PAID_TWICE_HELP = (
    " In the Stripe dashboard, open Payments, find the later payment and refund it; the"
    " business stays marked for review until you clear it on its page."
)


def fix_message(finding: Finding, result: dict[str, Any]) -> tuple[str, bool]:
    """What to tell the admin after a fix, and whether it changed something: a fix that
    changed nothing never says "done", and a double payment says what to do in Stripe."""
    status = result.get("status") or result.get("outcome")
    detail = str(result.get("detail") or result.get("note") or "")
    if status in UNCHANGED or result.get("activated") is False or result.get("stopped") is False:
        told = f"{finding.fix_label}: nothing changed for {finding.subject} ({detail or status})."
        if detail.startswith("paid twice"):
            told += PAID_TWICE_HELP
        return told, False
    note = f" ({result['note']})" if result.get("note") else ""
    return f"{finding.fix_label}: done for {finding.subject}{note}", True


def _defaults(
    api: Backend, db: PostgresBackend | None, provider: OutreachProvider | None
) -> tuple[PostgresBackend, OutreachProvider]:
    from dashboard.outreach import get_provider
    from dashboard.runtime import get_runtime

    if db is None:
        db = api if isinstance(api, PostgresBackend) else get_runtime().db
    return db, provider or get_provider(get_runtime())


async def _apply(
    api: Backend, db: PostgresBackend, provider: OutreachProvider, finding: Finding, actor: str
) -> dict[str, Any]:
    if finding.kind == "stripe_event_failed":
        page = await api.select("stripe_events", filters=[Filter("id", "eq", finding.subject)])
        if not page.rows:
            return {"note": f"Stripe event {finding.subject} is gone"}
        outcome = await process_event(db, provider, page.rows[0]["payload"])
        return dataclasses.asdict(outcome)
    business = await load_business(api, uuid=finding.subject)
    if finding.kind == "paid_outreach_running":
        return await stop_campaign(api, provider, business, reason=f"reconciliation by {actor}")
    if finding.kind == "claimed_site_inactive":
        return await activate_site(
            db, business.id, event_id=None, source=f"reconciliation by {actor}"
        )
    if business.outreach_status == "starting":  # a starter died mid-call: release the gate
        await set_outreach_status(api, business.id, "pending")
    started = await start_campaign(api, provider, business.id, source=f"reconciliation by {actor}")
    return dataclasses.asdict(started)
