"""One business as its pages read and change it.

Reads: `count_with_status` (how many a bulk action would touch), `business_detail`
(everything the detail page shows) and `explain` (dashboard.ops.why, for the "why"
card). Writes: each change and its audit row in ONE transaction (as the service role
acting for the admin), so a change is never done unaudited and an audit row never
claims a change that did not happen. The rules and messages around the writes are the
admin actions' (dashboard/actions/businesses.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from dashboard.auth.actor import Actor
from dashboard.backends.base import Backend, Filter, Order
from dashboard.backends.postgres import AsyncConn, PostgresBackend
from dashboard.ops.why import Explanation, explain_business_at

Row = dict[str, Any]

REQUEUE_SET = (
    "status = 'queued', attempts = 0, last_error = null, claimed_by = null,"
    " claim_token = null, started_at = null, finished_at = null"
)
AUDIT = (
    "insert into public.admin_audit_log (actor_id, actor_email, action, target, details)"
    " values (%s, %s, %s, %s, %s)"
)


class ExplainUnavailable(RuntimeError):
    """The database could not be asked why (the message is the driver's)."""


async def count_with_status(api: Backend, status: str) -> int:
    """How many pipeline businesses have `status` (an exact count)."""
    page = await api.select(
        "pipeline_businesses",
        columns="id",
        count=True,
        limit=0,
        filters=[Filter("status", "eq", status)],
    )
    return page.count or 0


async def business_detail(api: Backend, business_id: int) -> dict[str, Any] | None:
    """Everything the detail page shows: the pipeline row, its deployed site (or None),
    its last 200 log lines, and the site's outreach and Stripe events."""
    by_id = [Filter("id", "eq", business_id)]
    pipeline = (await api.select("pipeline_businesses", filters=by_id)).rows
    if not pipeline:
        return None
    qualified = (
        await api.select(
            "qualified_businesses",
            limit=1,
            filters=[Filter("pipeline_business_id", "eq", business_id)],
        )
    ).rows
    q = qualified[0] if qualified else None
    logs = (
        await api.select(
            "automation_logs",
            order=[Order("id", desc=True)],
            limit=200,
            filters=[Filter("business_id", "eq", business_id)],
        )
    ).rows
    outreach: list[Row] = []
    stripe: list[Row] = []
    if q is not None:
        by_q = [Filter("qualified_business_id", "eq", q["id"])]
        outreach = (await api.select("outreach_events", filters=by_q, limit=500)).rows
        stripe = (await api.select("stripe_events", filters=by_q, limit=200)).rows
    return {
        "pipeline": pipeline[0],
        "qualified": q,
        "logs": logs,
        "outreach": outreach,
        "stripe": stripe,
    }


async def explain(database_url: str, business_id: int) -> Explanation:
    """Why the business stands where it does (dashboard.ops.why); `BusinessNotFound`
    when there is none, `ExplainUnavailable` when the database cannot be read."""
    try:
        return await explain_business_at(database_url, str(business_id))
    except psycopg.Error as exc:
        raise ExplainUnavailable(str(exc)) from exc


async def audit(
    conn: AsyncConn, actor: Actor, action: str, target: str, details: dict[str, Any]
) -> None:
    """The audit row, inside the caller's transaction (it fails with the action)."""
    await conn.execute(AUDIT, (actor.id, actor.email, action, target, Jsonb(details)))


async def set_status(
    db: PostgresBackend,
    actor: Actor,
    business_id: int,
    new: str,
    allowed_from: Sequence[str],
    action: str,
) -> str | None:
    """Move one business to `new` when its status is in `allowed_from`, audited as
    `business_<action>`; the status it had, or None when nothing changed."""
    values = REQUEUE_SET if new == "queued" else "status = 'skipped'"
    query = (
        "with old as (select id, status from public.pipeline_businesses"
        " where id = %s and status = any(%s) for update)"
        f" update public.pipeline_businesses p set {values} from old where p.id = old.id"
        " returning old.status as before"
    )
    async with db.as_caller(actor.caller()) as conn:
        row = await (await conn.execute(query, (business_id, list(allowed_from)))).fetchone()
        if row is None:
            return None
        details = {"before": {"status": row["before"]}, "after": {"status": new}}
        await audit(
            conn, actor, f"business_{action}", f"pipeline_businesses:{business_id}", details
        )
    return str(row["before"])


async def set_outreach_pending(
    db: PostgresBackend, actor: Actor, business_id: int, allowed_from: Sequence[str]
) -> tuple[str, bool] | None:
    """Outreach of a deployed, unpaid business back to `pending` when its outreach status
    is in `allowed_from`, audited as `outreach_retried`. The outreach status it had and
    whether it is paid (changed or not, read under the row lock), or None when the
    business has no deployed site."""
    async with db.as_caller(actor.caller()) as conn:
        row = await (
            await conn.execute(
                "select id, outreach_status, claimed from public.qualified_businesses"
                " where pipeline_business_id = %s for update",
                (business_id,),
            )
        ).fetchone()
        if row is None:
            return None
        before, claimed = str(row["outreach_status"]), bool(row["claimed"])
        if claimed or before not in allowed_from:
            return before, claimed
        await conn.execute("select public.set_outreach_status(%s, 'pending')", (row["id"],))
        details = {"before": {"outreach_status": before}, "after": {"outreach_status": "pending"}}
        await audit(conn, actor, "outreach_retried", f"qualified_businesses:{row['id']}", details)
    return before, claimed


async def requeue_all_failed(db: PostgresBackend, actor: Actor, expected: int) -> int:
    """Requeue every failed business (the admin was shown `expected`); how many moved."""
    async with db.as_caller(actor.caller()) as conn:
        # counted by the statement itself: as_caller pipelines, and a pipelined cursor's
        # rowcount is -1 until its result is fetched
        cur = await conn.execute(
            "with moved as (update public.pipeline_businesses"
            f" set {REQUEUE_SET} where status = 'failed' returning 1)"
            " select count(*) as n from moved"
        )
        row = await cur.fetchone()
        moved = int(row["n"]) if row else 0
        details = {
            "before": {"status": "failed", "count": expected},
            "after": {"status": "queued", "count": moved},
        }
        await audit(conn, actor, "businesses_requeued", "pipeline_businesses", details)
    return moved
