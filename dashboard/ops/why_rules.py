"""The rules of "why": from the `Facts` of one business (read by `why.read_facts`), one
sentence per pipeline, outreach and payment state. Pure: no database, no clock.

`main` reasons form the summary line (the state, then what blocks it); `more` are
the details shown under it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from dashboard.ages import format_ago

Record = dict[str, Any]
OUTREACH_PATIENCE = timedelta(minutes=15)


@dataclass
class Facts:
    """Everything the explanation needs, read in one short transaction."""

    now: datetime
    business: Record
    qualified: Record | None
    config: Record
    implementation: Record | None
    last_pause: Record | None = None
    ahead: int = 0
    deployed_today: int = 0
    stripe_failures: list[Record] = field(default_factory=list)
    last_error_log: Record | None = None


@dataclass
class Reasons:
    main: list[str] = field(default_factory=list)
    more: list[str] = field(default_factory=list)

    def extend(self, other: Reasons) -> None:
        self.main += other.main
        self.more += other.more


def when(value: datetime | None, now: datetime) -> str:
    """'12:03 UTC' today, else '2026-11-20 12:03 UTC'."""
    if value is None:
        return "an unknown time"
    value, now = value.astimezone(UTC), now.astimezone(UTC)
    return value.strftime("%H:%M UTC" if value.date() == now.date() else "%Y-%m-%d %H:%M UTC")


def pipeline_reasons(f: Facts) -> Reasons:
    b, now = f.business, f.now
    status = b["status"]
    r = Reasons()
    if status == "queued":
        r.main.append(
            "queued, next in line" if f.ahead == 0 else f"queued, {f.ahead:,} ahead of it"
        )
        r.main += _queue_blockers(f)
        if b["attempts"]:
            r.more.append(
                f"attempt {b['attempts']} of {f.config['max_attempts']} failed before:"
                f" {b['last_error'] or 'no error recorded'}"
            )
        if b["priority"]:
            r.more.append(f"priority {b['priority']} (higher goes first)")
    elif status == "started":
        r.main.append(
            f"being built by {b['claimed_by']} since {when(b['started_at'], now)}"
            f" (attempt {b['attempts']} of {f.config['max_attempts']})"
        )
        r.main += _stale_claim(f)
    elif status == "failed":
        r.main.append(
            f"failed after {b['attempts']} attempt(s) at {when(b['finished_at'], now)}:"
            f" {b['last_error'] or 'no error recorded'}"
        )
    elif status == "skipped":
        r.main.append(f"skipped at {when(b['finished_at'], now)}: {b['last_error'] or 'no reason'}")
    else:
        r.main.append(f"deployed at {when(b['finished_at'], now)}")
    r.more.append(contact_line(b))
    r.more.append(
        f"found {when(b['created_at'], now)} in {b['city']}, {b['region']} ({b['category']})"
    )
    if f.last_error_log:
        log = f.last_error_log
        r.more.append(
            f"last error log ({log['process']}, {when(log['created_at'], now)}): {log['message']}"
        )
    return r


def contact_line(b: dict[str, Any]) -> str:
    """Where the owner email came from, or why there is none."""
    if b.get("email"):
        return f"owner email {b['email']} (from {b.get('email_source') or 'an unknown source'})"
    reason = b.get("email_missing_reason") or "no reason recorded"
    return f"no owner email: {reason}; add one on this page or import a CSV"


def _queue_blockers(f: Facts) -> list[str]:
    out = []
    if not f.config["implementation_enabled"]:
        out.append("implementation is disabled in config")
    impl: dict[str, Any] = f.implementation or {}
    desired = impl.get("desired_state", "running")
    if desired != "running":
        word = "paused" if desired == "paused" else "stopped"
        cmd = f.last_pause
        if cmd and cmd["command"] in ("pause", "stop"):
            by = cmd["requested_by"] or "an unknown admin"
            out.append(f"implementation {word} since {when(cmd['created_at'], f.now)} by {by}")
        else:
            out.append(f"implementation is {word}" + _suffix(impl.get("paused_reason")))
    age = impl.get("heartbeat_age")
    stale = f.config["heartbeat_stale_seconds"]
    if impl.get("state", "offline") == "offline" or age is None or age > stale:
        last = format_ago(impl.get("last_heartbeat_at"), f.now)
        out.append(f"no implementation worker is running (last heartbeat {last})")
    limit = f.config["daily_deploy_limit"]
    if f.deployed_today >= limit:
        out.append(
            f"today's deploy limit of {limit:,} is reached ({f.deployed_today:,} deployed);"
            " claims resume at 00:00 UTC"
        )
    return out


def _suffix(text: str | None) -> str:
    return f" ({text})" if text else ""


def _stale_claim(f: Facts) -> list[str]:
    b, limit = f.business, f.config["stale_after_minutes"]
    if b["started_at"] is None or f.now - b["started_at"] <= timedelta(minutes=limit):
        return []
    fate = "requeue" if b["attempts"] < f.config["max_attempts"] else "fail"
    return [
        f"stale: claimed {format_ago(b['started_at'], f.now)}, past the {limit}-minute limit;"
        f" reset_stale_started_businesses will {fate} it"
    ]


def qualified_reasons(f: Facts) -> Reasons:
    q = f.qualified
    assert q is not None
    r = Reasons()
    r.more.append(f"site {q['preview_url']} ({q['site_status']}), public id {q['uuid']}")
    if q["claimed"]:
        r.main.append(_claimed(f, q))
        r.more.append(f"payment {q['stripe_payment_id']}; outreach {q['outreach_status']}")
    else:
        if q["site_status"] == "suspended":
            r.main.append("site suspended")
        r.main.append(_outreach(f, q))
        r.more.append("not claimed yet")
    for event in f.stripe_failures:
        r.main.append(
            f"Stripe event {event['id']} ({event['type']}) failed at"
            f" {when(event['received_at'], f.now)}: {event['error'] or 'no error recorded'}"
        )
    if q["review_reason"]:
        r.more.append(f"flagged for review: {q['review_reason']}")
    return r


def _claimed(f: Facts, q: dict[str, Any]) -> str:
    head = f"claimed at {when(q['claimed_at'], f.now)} by {q['customer_email'] or 'unknown email'}"
    if q["site_status"] == "active":
        return f"{head}, site active since {when(q['activated_at'], f.now)}"
    if q["activation_error"]:
        return (
            f"claimed, but the site is not active: activation failed at"
            f" {when(q['updated_at'], f.now)} with {q['activation_error']}"
        )
    return "claimed, but the site is not active: activation has not run yet"


def _missing(f: Facts) -> str:
    reason = f.business.get("email_missing_reason")
    return f": {reason}" if reason else ""


def _outreach(f: Facts, q: dict[str, Any]) -> str:
    status, now = q["outreach_status"], f.now
    if status == "pending":
        if not f.config["outreach_enabled"]:
            return "outreach pending: outreach is disabled in config"
        if q["site_status"] != "deployed":
            site = q["site_status"]
            return f"outreach pending: the site is {site}, outreach starts for deployed sites"
        waited = now - q["deployed_at"]
        late = " (over 15 min: is the app's sweeper running? try `cliftonsites doctor`)"
        tail = late if waited > OUTREACH_PATIENCE else ""
        since = when(q["deployed_at"], now)
        return f"outreach pending since {since}: waiting for the trigger or sweeper{tail}"
    texts = {
        "starting": f"outreach starting since {when(q['updated_at'], now)}",
        "started": f"outreach started at {when(q['outreach_started_at'], now)} in campaign"
        f" {q['outreach_campaign_id']}; last event {format_ago(q['outreach_last_event_at'], now)}",
        "replied": f"the owner replied at {when(q['outreach_last_event_at'], now)}",
        "bounced": "outreach ended: the email bounced",
        "unsubscribed": "outreach ended: the owner unsubscribed",
        "failed": f"outreach failed after {q['outreach_attempts']} attempt(s):"
        f" {q['outreach_error'] or 'no error recorded'}",
        "stopped": f"outreach stopped at {when(q['updated_at'], now)}",
        "skipped": "outreach skipped" + ("" if q["email"] else f" (no email address){_missing(f)}"),
    }
    return texts.get(status, f"outreach {status}")
