"""Alert storage in `admin_private`: rules, alerts, the outbox, and the reads the
conditions need. The only module that writes these tables.

Functions that take `conn` run inside the caller's transaction (the evaluator holds
one, under its advisory lock); the others open their own owner transaction. Every
time is passed in (`now`), so tests control the clock. Edits, mutes and
acknowledgements write an `admin_audit_log` row with the values before and after, in
the same transaction as the change: both happen or neither does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from pydantic import BaseModel, ConfigDict, Field

from dashboard.alerts.rules import KINDS, AlertRule, Kind, RuleEdit, default_rule
from dashboard.backends.postgres import PostgresBackend

Conn = AsyncConnection[Any]
RULE_COLUMNS = (
    "kind, enabled, threshold, window_minutes, for_minutes, cooldown_minutes,"
    " reminder_minutes, channels, email_to, muted_until, updated_at, updated_by"
)
EDITABLE = (
    "enabled",
    "threshold",
    "window_minutes",
    "for_minutes",
    "cooldown_minutes",
    "reminder_minutes",
    "channels",
    "email_to",
)


class AlertRow(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: int
    kind: Kind
    subject: str
    status: str
    title: str
    details: dict[str, Any] = Field(default_factory=dict)
    href: str = "/"
    condition_since: datetime
    fired_at: datetime | None = None
    clear_since: datetime | None = None
    last_message_at: datetime | None = None
    notified: bool = False
    resolved_at: datetime | None = None
    acked_at: datetime | None = None
    acked_by: str | None = None


class OutboxRow(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: int
    alert_id: int
    message: str
    channel: str
    recipients: list[str] = Field(default_factory=list)
    subject: str
    body: str
    payload: dict[str, Any] = Field(default_factory=dict)
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None = None
    created_at: datetime
    sent_at: datetime | None = None


# -- rules ---------------------------------------------------------------------------
async def ensure_default_rules(conn: Conn) -> None:
    """Insert the default of every rule that has no row yet (edited rules are kept)."""
    for kind in KINDS:
        rule = default_rule(kind)
        await conn.execute(
            "insert into admin_private.alert_rules (kind, threshold, window_minutes,"
            " for_minutes, cooldown_minutes, reminder_minutes, updated_by)"
            " values (%s, %s, %s, %s, %s, %s, 'default') on conflict (kind) do nothing",
            (
                kind,
                rule.threshold,
                rule.window_minutes,
                rule.for_minutes,
                rule.cooldown_minutes,
                rule.reminder_minutes,
            ),
        )


async def read_rules(conn: Conn) -> list[AlertRule]:
    cur = await conn.execute(f"select {RULE_COLUMNS} from admin_private.alert_rules order by kind")
    rules = {row["kind"]: AlertRule.model_validate(row) for row in await cur.fetchall()}
    return [rules[kind] for kind in KINDS if kind in rules]


async def list_rules(db: PostgresBackend) -> list[AlertRule]:
    async with db.owner() as conn:
        await ensure_default_rules(conn)
        return await read_rules(conn)


async def _audit(
    conn: Conn,
    action: str,
    actor: tuple[str | None, str | None],
    target: str,
    details: dict[str, Any],
) -> None:
    await conn.execute(
        "insert into public.admin_audit_log (actor_id, actor_email, action, target, details)"
        " values (%s, %s, %s, %s, %s)",
        (actor[0], actor[1], action, target, Jsonb(details)),
    )


def _rule_values(rule: AlertRule) -> dict[str, Any]:
    values = rule.model_dump(mode="json", include={*EDITABLE, "muted_until"})
    return values


async def update_rule(
    db: PostgresBackend,
    kind: Kind,
    edit: RuleEdit,
    actor: tuple[str | None, str | None],
    now: datetime,
) -> AlertRule:
    """Save a checked edit of one rule, audited as `alert_rule_updated` (before/after)."""
    async with db.owner() as conn:
        await ensure_default_rules(conn)
        cur = await conn.execute(
            f"select {RULE_COLUMNS} from admin_private.alert_rules where kind = %s for update",
            (kind,),
        )
        before = AlertRule.model_validate(await cur.fetchone())
        values = edit.model_dump()
        cur = await conn.execute(
            "update admin_private.alert_rules set enabled = %s, threshold = %s,"
            " window_minutes = %s, for_minutes = %s, cooldown_minutes = %s,"
            " reminder_minutes = %s, channels = %s, email_to = %s, updated_at = %s,"
            f" updated_by = %s where kind = %s returning {RULE_COLUMNS}",
            (*(values[k] for k in EDITABLE), now, actor[1], kind),
        )
        after = AlertRule.model_validate(await cur.fetchone())
        await _audit(
            conn,
            "alert_rule_updated",
            actor,
            kind,
            {"before": _rule_values(before), "after": _rule_values(after)},
        )
        return after


async def mute_rule(
    db: PostgresBackend,
    kind: Kind,
    until: datetime | None,
    actor: tuple[str | None, str | None],
    now: datetime,
) -> AlertRule:
    """Mute a rule until `until` (None unmutes), audited as `alert_rule_muted`."""
    async with db.owner() as conn:
        await ensure_default_rules(conn)
        cur = await conn.execute(
            "select muted_until from admin_private.alert_rules where kind = %s for update",
            (kind,),
        )
        row = await cur.fetchone()
        before = row["muted_until"] if row else None
        cur = await conn.execute(
            "update admin_private.alert_rules set muted_until = %s, updated_at = %s,"
            f" updated_by = %s where kind = %s returning {RULE_COLUMNS}",
            (until, now, actor[1], kind),
        )
        after = AlertRule.model_validate(await cur.fetchone())
        await _audit(
            conn,
            "alert_rule_muted",
            actor,
            kind,
            {
                "before": {"muted_until": before and before.isoformat()},
                "after": {"muted_until": until and until.isoformat()},
            },
        )
        return after


# -- alerts --------------------------------------------------------------------------
async def open_alerts(conn: Conn) -> list[AlertRow]:
    """Pending and firing alerts, locked for this evaluation."""
    cur = await conn.execute(
        "select * from admin_private.alerts where status <> 'resolved' order by id for update"
    )
    return [AlertRow.model_validate(row) for row in await cur.fetchall()]


async def insert_alert(
    conn: Conn,
    kind: str,
    subject: str,
    title: str,
    href: str,
    details: dict[str, Any],
    since: datetime,
    now: datetime,
) -> AlertRow:
    cur = await conn.execute(
        "insert into admin_private.alerts (kind, subject, status, title, href, details,"
        " condition_since, created_at) values (%s, %s, 'pending', %s, %s, %s, %s, %s)"
        " returning *",
        (kind, subject, title, href, Jsonb(details), since, now),
    )
    return AlertRow.model_validate(await cur.fetchone())


async def save_alert(conn: Conn, alert: AlertRow) -> None:
    await conn.execute(
        "update admin_private.alerts set status = %s, title = %s, details = %s, href = %s,"
        " fired_at = %s, clear_since = %s, last_message_at = %s, notified = %s,"
        " resolved_at = %s where id = %s",
        (
            alert.status,
            alert.title,
            Jsonb(alert.details),
            alert.href,
            alert.fired_at,
            alert.clear_since,
            alert.last_message_at,
            alert.notified,
            alert.resolved_at,
            alert.id,
        ),
    )


async def delete_alert(conn: Conn, alert_id: int) -> None:
    await conn.execute("delete from admin_private.alerts where id = %s", (alert_id,))


async def recent_alerts(db: PostgresBackend, limit: int = 50) -> list[AlertRow]:
    async with db.owner() as conn:
        cur = await conn.execute(
            "select * from admin_private.alerts where status <> 'pending'"
            " order by (status = 'firing') desc, id desc limit %s",
            (limit,),
        )
        return [AlertRow.model_validate(row) for row in await cur.fetchall()]


async def firing_alerts(db: PostgresBackend) -> list[AlertRow]:
    async with db.owner() as conn:
        cur = await conn.execute(
            "select * from admin_private.alerts where status = 'firing' order by id"
        )
        return [AlertRow.model_validate(row) for row in await cur.fetchall()]


async def ack_alert(
    db: PostgresBackend, alert_id: int, actor: tuple[str | None, str | None], now: datetime
) -> AlertRow | None:
    """Acknowledge a firing alert (no more reminders), audited as `alert_acknowledged`."""
    async with db.owner() as conn:
        cur = await conn.execute(
            "update admin_private.alerts set acked_at = %s, acked_by = %s"
            " where id = %s and status = 'firing' and acked_at is null returning *",
            (now, actor[1], alert_id),
        )
        row = await cur.fetchone()
        if row is None:
            return None
        await _audit(
            conn,
            "alert_acknowledged",
            actor,
            str(alert_id),
            {"before": {"acked_at": None}, "after": {"acked_at": now.isoformat()}},
        )
        return AlertRow.model_validate(row)


# -- outbox --------------------------------------------------------------------------
async def enqueue(
    conn: Conn,
    alert_id: int,
    message: str,
    channel: str,
    recipients: Sequence[str],
    subject: str,
    body: str,
    payload: dict[str, Any],
    now: datetime,
) -> None:
    await conn.execute(
        "insert into admin_private.alert_outbox (alert_id, message, channel, recipients,"
        " subject, body, payload, next_attempt_at, created_at)"
        " values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (alert_id, message, channel, list(recipients), subject, body, Jsonb(payload), now, now),
    )


CLAIM_DUE = """
select * from admin_private.alert_outbox o
 where o.status = 'pending' and o.next_attempt_at <= %s
   and not exists (select 1 from admin_private.alert_outbox e
                    where e.alert_id = o.alert_id and e.channel = o.channel
                      and e.id < o.id and e.status = 'pending')
 order by o.id
 limit 1
 for update skip locked
"""


async def claim_due_message(conn: Conn, now: datetime) -> OutboxRow | None:
    """The oldest due message no other instance holds (messages of one alert and channel
    go out in order: a later one waits while an earlier one is retried)."""
    cur = await conn.execute(CLAIM_DUE, (now,))
    row = await cur.fetchone()
    return OutboxRow.model_validate(row) if row else None


async def mark_sent(conn: Conn, message_id: int, now: datetime) -> None:
    await conn.execute(
        "update admin_private.alert_outbox set status = 'sent', sent_at = %s,"
        " attempts = attempts + 1, last_error = null where id = %s",
        (now, message_id),
    )


async def mark_failed(conn: Conn, message_id: int, error: str, retry_at: datetime | None) -> None:
    """Record a failed attempt: retry at `retry_at`, or give up (status `failed`)."""
    await conn.execute(
        "update admin_private.alert_outbox set attempts = attempts + 1, last_error = %s,"
        " status = case when %s::timestamptz is null then 'failed' else 'pending' end,"
        " next_attempt_at = coalesce(%s::timestamptz, next_attempt_at) where id = %s",
        (error[:1000], retry_at, retry_at, message_id),
    )


async def recent_messages(db: PostgresBackend, limit: int = 50) -> list[OutboxRow]:
    async with db.owner() as conn:
        cur = await conn.execute(
            "select * from admin_private.alert_outbox order by id desc limit %s", (limit,)
        )
        return [OutboxRow.model_validate(row) for row in await cur.fetchall()]
