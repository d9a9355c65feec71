"""The evaluator: one pass compares the conditions that hold now with the open alerts,
moves each alert along (pending -> firing -> resolved), and writes the messages to
send into the outbox, all in one transaction.

Exactly once across instances: the pass runs under a transaction-scoped advisory lock
(`pg_try_advisory_xact_lock`); an instance that cannot take it skips this pass, since
another one is doing it. The state lives in the database (a unique index allows one
open alert per rule and subject), so a pass that comes right after another one finds
the work done and sends nothing twice. Messages are written in the same transaction
as the state change: a crash loses neither, and a rollback leaves neither.

Like healthchecks.io: one message when a condition starts (after `for_minutes`), a
reminder every `reminder_minutes` while it lasts (none once acknowledged), one
"resolved" message when it has been clear for `cooldown_minutes`. A muted rule keeps
its alerts on the page but sends nothing; an alert that still fires when the mute
ends sends its first message then.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from dashboard.alerts.conditions import Condition, Providers, current_conditions
from dashboard.alerts.messages import Message, compose
from dashboard.alerts.rules import AlertRule
from dashboard.backends.postgres import PostgresBackend
from dashboard.data import alerts as store
from dashboard.data.health_reads import read_health_facts
from dashboard.settings import Settings

log = logging.getLogger(__name__)
LOCK_KEY = 0x0C11A1E7  # advisory lock: the alert evaluator's single pass


@dataclass
class PassReport:
    ran: bool = False
    fired: int = 0
    reminded: int = 0
    resolved: int = 0
    queued_messages: int = 0


def providers_in_use(settings: Settings) -> Providers:
    return Providers(
        smartlead=bool(settings.smartlead_api_key), stripe=bool(settings.stripe_api_key)
    )


def channels_for(rule: AlertRule, settings: Settings) -> list[tuple[str, list[str]]]:
    """Where a rule's messages go now: (channel, recipients)."""
    out: list[tuple[str, list[str]]] = []
    recipients = rule.email_to or settings.alert_recipients
    if "email" in rule.channels:
        if settings.smtp_url and recipients:
            out.append(("email", recipients))
        elif not settings.smtp_url:
            out.append(("folder", recipients))  # the local outbox, as outreach's is
        else:
            log.warning("alert rule %s: SMTP_URL is set but ALERT_EMAIL_TO is empty", rule.kind)
    if "webhook" in rule.channels and settings.alert_webhook_url:
        out.append(("webhook", []))
    return out


async def _queue(
    conn: store.Conn,
    settings: Settings,
    rule: AlertRule,
    alert: store.AlertRow,
    message: Message,
    now: datetime,
    report: PassReport,
) -> None:
    subject, body, payload = compose(settings, alert, message, now)
    for channel, recipients in channels_for(rule, settings):
        await store.enqueue(
            conn, alert.id, message, channel, recipients, subject, body, payload, now
        )
        report.queued_messages += 1
    alert.last_message_at = now


async def _advance(
    conn: store.Conn,
    settings: Settings,
    rule: AlertRule,
    alert: store.AlertRow,
    cond: Condition | None,
    now: datetime,
    report: PassReport,
) -> None:
    muted = rule.muted(now)
    if cond is None:
        if alert.status == "pending":
            await store.delete_alert(conn, alert.id)  # it never fired: nothing to say
            return
        alert.clear_since = alert.clear_since or now
        if now - alert.clear_since < timedelta(minutes=rule.cooldown_minutes):
            await store.save_alert(conn, alert)
            return
        alert.status, alert.resolved_at = "resolved", now
        report.resolved += 1
        if alert.notified:
            await _queue(conn, settings, rule, alert, "resolved", now, report)
        await store.save_alert(conn, alert)
        return
    alert.clear_since = None
    alert.title, alert.href = cond.title, cond.href
    alert.details = {**cond.details, "affects": cond.affects}
    if alert.status == "pending" and now - alert.condition_since >= timedelta(
        minutes=rule.for_minutes
    ):
        alert.status, alert.fired_at = "firing", now
        report.fired += 1
    if alert.status == "firing" and not muted:
        if not alert.notified:
            alert.notified = True
            await _queue(conn, settings, rule, alert, "firing", now, report)
        elif (
            alert.acked_at is None
            and alert.last_message_at is not None
            and (now - alert.last_message_at >= timedelta(minutes=rule.reminder_minutes))
        ):
            report.reminded += 1
            await _queue(conn, settings, rule, alert, "reminder", now, report)
    await store.save_alert(conn, alert)


async def evaluate_once(db: PostgresBackend, settings: Settings, now: datetime) -> PassReport:
    """One evaluation pass, or none when another instance holds the lock right now."""
    async with db.owner() as conn:
        cur = await conn.execute("select pg_try_advisory_xact_lock(%s) as got", (LOCK_KEY,))
        row = await cur.fetchone()
        if not (row and row["got"]):
            return PassReport()
        return await evaluate_locked(conn, settings, now)


async def wait_for_other_pass(db: PostgresBackend) -> None:
    """Return once the pass another instance is running has committed (or at once when
    none runs): the shared lock waits for the holder of the exclusive one."""
    async with db.owner() as conn:
        await conn.execute("select pg_advisory_xact_lock_shared(%s)", (LOCK_KEY,))


async def evaluate_locked(conn: store.Conn, settings: Settings, now: datetime) -> PassReport:
    """The pass itself, in the caller's transaction, which holds `LOCK_KEY`."""
    report = PassReport(ran=True)
    await store.ensure_default_rules(conn)
    rules = {rule.kind: rule for rule in await store.read_rules(conn)}
    spike = rules.get("failure_spike")
    bounce = rules.get("bounce_rate")
    facts = await read_health_facts(
        conn,
        now,
        timedelta(minutes=spike.window_minutes if spike else 15),
        timedelta(minutes=bounce.window_minutes if bounce else 10080),
    )
    holding = current_conditions(list(rules.values()), facts, now, providers_in_use(settings))
    conditions = {(c.kind, c.subject): c for c in holding}
    for alert in await store.open_alerts(conn):
        cond = conditions.pop((alert.kind, alert.subject), None)
        rule = rules.get(alert.kind)
        if rule is not None:
            await _advance(conn, settings, rule, alert, cond, now, report)
    for cond in conditions.values():
        alert = await store.insert_alert(
            conn, cond.kind, cond.subject, cond.title, cond.href, cond.details, cond.since, now
        )
        await _advance(conn, settings, rules[cond.kind], alert, cond, now, report)
    return report
