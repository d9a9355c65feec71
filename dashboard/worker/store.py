"""The few reads the worker needs that no RPC of docs/rpc.md covers.

They are plain PostgREST-style selects through the same `Backend`, so they work on
the embedded server and on Supabase alike, as `service_role`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dashboard.backends.base import Backend, Filter, Order
from dashboard.data.models import CONTACTED, AutomationCommand, IdentificationTarget, Process
from dashboard.worker.ports import ContactResult, FoundBusiness

STATE_COMMANDS = ["start", "stop", "pause", "resume"]
#: A found business with an owner email is built first: its site can be offered at once.
#: (The demo's seeded queue holds 0 and 10; production queues are all found businesses.)
WITH_EMAIL_PRIORITY = 20


def start_of_utc_day(now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


async def count_deployed_today(api: Backend) -> int:
    """Sites deployed since midnight UTC (the day `daily_deploy_limit` counts)."""
    page = await api.select(
        "qualified_businesses",
        columns="id",
        filters=[Filter("deployed_at", "gte", start_of_utc_day())],
        limit=0,
        count=True,
    )
    return page.count or 0


async def bounce_counts(api: Backend, days: int) -> tuple[int, int]:
    """(bounced, contacted) among sites deployed in the last `days` days."""
    since = datetime.now(UTC) - timedelta(days=days)
    base = [Filter("deployed_at", "gte", since)]
    contacted = await api.select(
        "qualified_businesses",
        columns="id",
        filters=[*base, Filter("outreach_status", "in", list(CONTACTED))],
        limit=0,
        count=True,
    )
    bounced = await api.select(
        "qualified_businesses",
        columns="id",
        filters=[*base, Filter("outreach_status", "eq", "bounced")],
        limit=0,
        count=True,
    )
    return bounced.count or 0, contacted.count or 0


async def last_state_command(api: Backend, process: Process) -> AutomationCommand | None:
    """The latest start/stop/pause/resume of a process: who decided its current state."""
    page = await api.select(
        "automation_commands",
        filters=[Filter("process", "eq", process), Filter("command", "in", STATE_COMMANDS)],
        order=[Order("id", desc=True)],
        limit=1,
    )
    return AutomationCommand.model_validate(page.rows[0]) if page.rows else None


async def insert_found(
    api: Backend,
    target: IdentificationTarget,
    businesses: list[FoundBusiness],
    contacts: list[ContactResult] | None = None,
) -> int:
    """Queue new businesses for a target, each with its contact step's result; known place
    ids are left alone. How many were new."""
    found = contacts or [ContactResult(None) for _ in businesses]
    rows: list[dict[str, Any]] = [
        {
            "place_id": b.place_id,
            "name": b.name,
            "category": target.category,
            "city": target.city,
            "region": target.region,
            "address": b.address,
            "phone": b.phone,
            "email": c.email,
            "email_source": c.source if c.email else None,
            "email_missing_reason": None if c.email else c.reason,
            "rating": b.rating,
            "review_count": b.review_count,
            "target_id": target.id,
            "status": "queued",
            "priority": WITH_EMAIL_PRIORITY if c.email else 0,
        }
        for b, c in zip(businesses, found, strict=True)
    ]
    inserted = await api.insert(
        "pipeline_businesses", rows, on_conflict="place_id", ignore_duplicates=True
    )
    return len(inserted)


async def count_targets_left(api: Backend) -> int:
    page = await api.select(
        "identification_targets",
        columns="id",
        filters=[Filter("status", "in", ["pending", "in_progress"])],
        limit=0,
        count=True,
    )
    return page.count or 0


async def count_offerable_backlog(api: Backend) -> int:
    """Found businesses with an owner email still waiting to be built."""
    page = await api.select(
        "pipeline_businesses",
        columns="id",
        filters=[Filter("status", "eq", "queued"), Filter("priority", "gte", WITH_EMAIL_PRIORITY)],
        limit=0,
        count=True,
    )
    return page.count or 0


async def count_queued(api: Backend) -> int:
    page = await api.select(
        "pipeline_businesses",
        columns="id",
        filters=[Filter("status", "eq", "queued")],
        limit=0,
        count=True,
    )
    return page.count or 0
