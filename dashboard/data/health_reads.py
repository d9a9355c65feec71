"""The facts the alert conditions are computed from, in one round trip per evaluation.

Times are the caller's `now` (the evaluator's clock), never the database's `now()`,
so a test that moves the clock moves every condition with it. `ping` is the health
check's `select 1` (GET /healthz).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg import AsyncConnection

from dashboard.backends.postgres import PostgresBackend
from dashboard.data.models import CONTACTED


@dataclass(frozen=True)
class ProcessFacts:
    process: str
    state: str
    desired_state: str
    enabled: bool
    last_heartbeat_at: datetime | None
    paused_reason: str | None
    updated_at: datetime


@dataclass(frozen=True)
class HealthFacts:
    heartbeat_stale_seconds: int
    processes: list[ProcessFacts]
    oldest_queued_at: datetime | None
    errors_in_window: int
    first_error_in_window: datetime | None
    outreach_running: bool
    outreach_since: datetime | None
    last_smartlead_at: datetime | None
    last_stripe_at: datetime | None
    bounced: int
    contacted: int


async def read_health_facts(
    conn: AsyncConnection[Any],
    now: datetime,
    failure_window: timedelta,
    bounce_window: timedelta,
) -> HealthFacts:
    cur = await conn.execute(
        "select s.process, s.state, s.desired_state, s.last_heartbeat_at, s.paused_reason,"
        " s.updated_at, case s.process when 'identification' then c.identification_enabled"
        " else c.implementation_enabled end as enabled, c.heartbeat_stale_seconds"
        " from public.automation_status s cross join public.automation_config c"
        " where c.id order by s.process"
    )
    rows = await cur.fetchall()
    cur = await conn.execute(
        "select"
        " (select min(created_at) from public.pipeline_businesses where status = 'queued')"
        "   as oldest_queued_at,"
        " (select count(*) from public.automation_logs where level = 'error'"
        "   and created_at > %(since)s and created_at <= %(now)s) as errors,"
        " (select min(created_at) from public.automation_logs where level = 'error'"
        "   and created_at > %(since)s and created_at <= %(now)s) as first_error,"
        " (select outreach_enabled from public.automation_config where id) as outreach_enabled,"
        " (select min(outreach_started_at) from public.qualified_businesses"
        "   where outreach_status = 'started') as outreach_since,"
        " (select max(received_at) from public.outreach_events where provider = 'smartlead')"
        "   as last_smartlead,"
        " (select max(received_at) from public.stripe_events) as last_stripe,"
        " (select count(*) from public.qualified_businesses where deployed_at >= %(bsince)s"
        "   and outreach_status = 'bounced') as bounced,"
        " (select count(*) from public.qualified_businesses where deployed_at >= %(bsince)s"
        "   and outreach_status = any(%(contacted)s)) as contacted",
        {
            "since": now - failure_window,
            "now": now,
            "bsince": now - bounce_window,
            "contacted": list(CONTACTED),
        },
    )
    facts = await cur.fetchone()
    assert facts is not None
    stale = int(rows[0]["heartbeat_stale_seconds"]) if rows else 60
    return HealthFacts(
        heartbeat_stale_seconds=stale,
        processes=[
            ProcessFacts(
                r["process"],
                r["state"],
                r["desired_state"],
                bool(r["enabled"]),
                r["last_heartbeat_at"],
                r["paused_reason"],
                r["updated_at"],
            )
            for r in rows
        ],
        oldest_queued_at=facts["oldest_queued_at"],
        errors_in_window=int(facts["errors"]),
        first_error_in_window=facts["first_error"],
        outreach_running=bool(facts["outreach_enabled"]) and facts["outreach_since"] is not None,
        outreach_since=facts["outreach_since"],
        last_smartlead_at=facts["last_smartlead"],
        last_stripe_at=facts["last_stripe"],
        bounced=int(facts["bounced"]),
        contacted=int(facts["contacted"]),
    )


async def ping(db: PostgresBackend) -> None:
    """`select 1` through the owner connection: raises when the database does not answer."""
    async with db.owner() as conn:
        await conn.execute("select 1")
