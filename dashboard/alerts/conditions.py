"""Which conditions hold right now: pure functions of the rules and the facts read for
this evaluation (dashboard/data/health_reads.py). Each condition names its rule, the
subject it is about (a process, a provider), what is wrong, since when, and the page
where it is fixed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from dashboard.alerts.rules import AlertRule, Kind
from dashboard.data.health_reads import HealthFacts

BOUNCE_MIN_SAMPLE = 20


@dataclass(frozen=True)
class Condition:
    kind: Kind
    subject: str
    title: str
    since: datetime
    href: str
    affects: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Providers:
    """Which webhook providers are in use (their API keys are set)."""

    smartlead: bool = False
    stripe: bool = False


def _worker_silent(rule: AlertRule, facts: HealthFacts, now: datetime) -> list[Condition]:
    limit = timedelta(seconds=rule.threshold or facts.heartbeat_stale_seconds)
    found = []
    for p in facts.processes:
        last = p.last_heartbeat_at
        if last is not None and now - last <= limit:
            continue
        if last is None:
            title = f"no {p.process} worker has ever reported"
        else:
            title = f"{p.process} worker is silent"
        found.append(
            Condition(
                "worker_silent",
                p.process,
                title,
                last or min(p.updated_at, now),
                "/system",
                f"{p.process} does no work until a worker runs: cliftonsites worker --process"
                f" {p.process}",
                {"last_heartbeat_at": last and last.isoformat()},
            )
        )
    return found


def _not_running(rule: AlertRule, facts: HealthFacts, now: datetime) -> list[Condition]:
    found = []
    for p in facts.processes:
        if not p.enabled:
            what, href = "disabled in the config", "/config"
        elif p.desired_state == "stopped":
            what, href = "stopped", "/"
        elif p.desired_state == "paused":
            what, href = f"paused ({p.paused_reason or 'by an admin'})", "/"
        else:
            continue
        found.append(
            Condition(
                "process_not_running",
                p.process,
                f"{p.process} is {what}",
                now,
                href,
                f"no {p.process} work is done meanwhile",
            )
        )
    return found


def _queue_oldest(rule: AlertRule, facts: HealthFacts, now: datetime) -> list[Condition]:
    oldest, limit = facts.oldest_queued_at, timedelta(hours=rule.threshold)
    if oldest is None or now - oldest <= limit:
        return []
    title = f"the oldest queued business has waited over {rule.threshold:g} h"
    return [
        Condition(
            "queue_oldest",
            "queue",
            title,
            oldest + limit,
            "/businesses",
            "businesses wait for their site; check that implementation runs",
        )
    ]


def _failure_spike(rule: AlertRule, facts: HealthFacts, now: datetime) -> list[Condition]:
    if facts.errors_in_window < rule.threshold or facts.errors_in_window == 0:
        return []
    title = f"{facts.errors_in_window} errors in the last {rule.window_minutes} min"
    return [
        Condition(
            "failure_spike",
            "errors",
            title,
            facts.first_error_in_window or now,
            "/logs?level=error",
            "sites fail to build, deploy or reach outreach",
            {"errors": facts.errors_in_window},
        )
    ]


def _webhooks_silent(
    rule: AlertRule, facts: HealthFacts, now: datetime, providers: Providers
) -> list[Condition]:
    if not facts.outreach_running:
        return []
    limit = timedelta(hours=rule.threshold)
    found = []
    for name, used, last in (
        ("smartlead", providers.smartlead, facts.last_smartlead_at),
        ("stripe", providers.stripe, facts.last_stripe_at),
    ):
        start = last or facts.outreach_since
        if not used or start is None or now - start <= limit:
            continue
        title = f"no {name.title()} webhook for over {rule.threshold:g} h"
        found.append(
            Condition(
                "webhooks_silent",
                name,
                title,
                start + limit,
                "/system",
                "replies, bounces or payments may be going unrecorded",
            )
        )
    return found


def _bounce_rate(rule: AlertRule, facts: HealthFacts, now: datetime) -> list[Condition]:
    if facts.contacted < BOUNCE_MIN_SAMPLE:
        return []
    rate = facts.bounced / facts.contacted
    if rate <= rule.threshold:
        return []
    title = f"outreach bounce rate {rate:.0%} ({facts.bounced} of {facts.contacted})"
    return [
        Condition(
            "bounce_rate",
            "outreach",
            title,
            now,
            "/config",
            "sender reputation: the implementation guard may pause new sites",
            {"rate": rate},
        )
    ]


def current_conditions(
    rules: list[AlertRule], facts: HealthFacts, now: datetime, providers: Providers
) -> list[Condition]:
    """Every condition that holds now, for the enabled rules."""
    found: list[Condition] = []
    for rule in rules:
        if not rule.enabled:
            continue
        if rule.kind == "worker_silent":
            found += _worker_silent(rule, facts, now)
        elif rule.kind == "process_not_running":
            found += _not_running(rule, facts, now)
        elif rule.kind == "queue_oldest":
            found += _queue_oldest(rule, facts, now)
        elif rule.kind == "failure_spike":
            found += _failure_spike(rule, facts, now)
        elif rule.kind == "webhooks_silent":
            found += _webhooks_silent(rule, facts, now, providers)
        elif rule.kind == "bounce_rate":
            found += _bounce_rate(rule, facts, now)
    return found
