"""Owner emails set by hand or by import: who the keys name, the write with its audit row,
and the deployed businesses that still need one.

`write_owner_emails` writes every change and one audit row per change (before and after)
in ONE transaction, as the service role acting for the admin: all of an import or none
of it. A business whose outreach was `skipped` for want of an email goes back to
`pending` in the same transaction; the caller starts it once the transaction is in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from dashboard.backends.base import Backend, Caller, Filter, Order
from dashboard.backends.postgres import PostgresBackend

_RESOLVE_SQL = """
select p.id, p.place_id, q.uuid, p.name, p.email, p.email_source, q.id as qualified_id,
       q.outreach_status
from public.pipeline_businesses p
left join public.qualified_businesses q on q.pipeline_business_id = p.id
where p.place_id = any(%s) or q.uuid = any(%s)
"""
_LOCK_SQL = """
select p.id, p.email, p.email_source, q.id as qualified_id, q.outreach_status
from public.pipeline_businesses p
left join public.qualified_businesses q on q.pipeline_business_id = p.id
where p.id = any(%s) order by p.id for update of p
"""
AUDIT = (
    "insert into public.admin_audit_log (actor_id, actor_email, action, target, details)"
    " values (%s, %s, %s, %s, %s)"
)


@dataclass(frozen=True)
class KnownBusiness:
    id: int
    place_id: str
    uuid: str | None
    name: str
    email: str | None
    email_source: str | None
    qualified_id: int | None
    outreach_status: str | None


@dataclass(frozen=True)
class EmailChange:
    business_id: int
    email: str


async def resolve_businesses(
    db: PostgresBackend, place_ids: Sequence[str], uuids: Sequence[str]
) -> list[KnownBusiness]:
    """The businesses named by these place ids or site uuids (unknown keys are absent)."""
    async with db.owner() as conn:
        cur = await conn.execute(_RESOLVE_SQL, (list(place_ids), list(uuids)))
        rows = await cur.fetchall()
    return [KnownBusiness(**row) for row in rows]


async def write_owner_emails(
    db: PostgresBackend, caller: Caller, changes: Sequence[EmailChange], *, source: str
) -> list[int]:
    """Write `changes` with their audit rows in one transaction; the qualified ids whose
    outreach went back to `pending` (skipped for want of an email) to start now."""
    restart: list[int] = []
    by_id = {c.business_id: c for c in changes}
    async with db.as_caller(caller) as conn:
        cur = await conn.execute(_LOCK_SQL, (list(by_id),))
        rows = await cur.fetchall()
        if len(rows) != len(by_id):
            raise LookupError("a business of this change is gone: nothing was written")
        for row in rows:
            change = by_id[row["id"]]
            await conn.execute(
                "update public.pipeline_businesses set email = %s, email_source = %s,"
                " email_missing_reason = null where id = %s",
                (change.email, source, change.business_id),
            )
            after: dict[str, Any] = {"email": change.email, "email_source": source}
            if row["qualified_id"] is not None:
                await conn.execute(
                    "update public.qualified_businesses set email = %s where id = %s",
                    (change.email, row["qualified_id"]),
                )
                if row["outreach_status"] == "skipped":
                    await conn.execute(
                        "select public.set_outreach_status(%s, 'pending')", (row["qualified_id"],)
                    )
                    restart.append(int(row["qualified_id"]))
                    after["outreach_status"] = "pending"
            before = {"email": row["email"], "email_source": row["email_source"]}
            if row["qualified_id"] is not None:
                before["outreach_status"] = row["outreach_status"]
            details = {"before": before, "after": after, "source": source}
            await conn.execute(
                AUDIT,
                (caller.sub, caller.email, "owner_email_set",
                 f"pipeline_businesses:{change.business_id}", Jsonb(details)),
            )  # fmt: skip
    return restart


async def needs_contact(api: Backend, before_id: int | None, limit: int) -> list[dict[str, Any]]:
    """Deployed, unpaid sites with no owner email, newest business first (keyset by id)."""
    filters = [
        Filter("email", "is", None),
        Filter("site_status", "eq", "deployed"),
        Filter("claimed", "is", False),
    ]
    if before_id is not None:
        filters.append(Filter("pipeline_business_id", "lt", before_id))
    page = await api.select(
        "qualified_businesses",
        columns="pipeline_business_id,uuid,name,category,city,site_status,outreach_status,"
        "claimed,deployed_at",
        filters=filters,
        order=[Order("pipeline_business_id", desc=True)],
        limit=limit,
    )
    return page.rows
