"""What the business actions write: each change and its audit row in ONE transaction
(as the service role acting for the admin), so an action is never done unaudited and
an audit row never claims a change that did not happen. No route here.

- `change_status(actor, id, new, allowed_from, action)`: requeue or skip one business;
- `retry_outreach(actor, id)`: outreach back to `pending` (set_outreach_status), never
  for a paid (claimed) business;
- `requeue_failed(actor)`: every failed business back to the queue.
Each returns an error message for the admin (nothing written), or None / a count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg.types.json import Jsonb

from dashboard.backends.postgres import AsyncConn
from dashboard.components.guard import Actor
from dashboard.runtime import get_runtime

RETRY_OUTREACH_FROM = ("failed", "stopped", "skipped", "bounced")
REQUEUE_SET = (
    "status = 'queued', attempts = 0, last_error = null, claimed_by = null,"
    " claim_token = null, started_at = null, finished_at = null"
)
AUDIT = (
    "insert into public.admin_audit_log (actor_id, actor_email, action, target, details)"
    " values (%s, %s, %s, %s, %s)"
)


async def audit(
    conn: AsyncConn, actor: Actor, action: str, target: str, details: dict[str, Any]
) -> None:
    """The audit row, inside the caller's transaction (it fails with the action)."""
    await conn.execute(AUDIT, (actor.id, actor.email, action, target, Jsonb(details)))


NO_SITE = "This business has no deployed site yet, so there is no outreach to retry."


def status_refusal(allowed_from: Sequence[str], action: str) -> str:
    return f"Only {' or '.join(allowed_from)} businesses can be {action}"


PAID = (
    "This business has paid for its site, so outreach to it stays stopped:"
    " retrying would email an owner who is already a customer."
)


def outreach_refusal(outreach_status: str, claimed: bool = False) -> str | None:
    """Why outreach in `outreach_status` cannot be retried; None when it can. A paid
    (claimed) business never gets outreach again, whatever its outreach status."""
    if claimed:
        return PAID
    if outreach_status in RETRY_OUTREACH_FROM:
        return None
    allowed = f"{', '.join(RETRY_OUTREACH_FROM[:-1])} or {RETRY_OUTREACH_FROM[-1]}"
    return f"Outreach is {outreach_status}; only {allowed} outreach can be retried."


async def change_status(
    actor: Actor, business_id: int, new: str, allowed_from: Sequence[str], action: str
) -> str | None:
    """Move one business to `new` when its status allows; an error message otherwise."""
    values = REQUEUE_SET if new == "queued" else "status = 'skipped'"
    query = (
        "with old as (select id, status from public.pipeline_businesses"
        " where id = %s and status = any(%s) for update)"
        f" update public.pipeline_businesses p set {values} from old where p.id = old.id"
        " returning old.status as before"
    )
    async with get_runtime().db.as_caller(actor.caller()) as conn:
        row = await (await conn.execute(query, (business_id, list(allowed_from)))).fetchone()
        if row is None:
            return f"{status_refusal(allowed_from, action)}: nothing changed."
        details = {"before": {"status": row["before"]}, "after": {"status": new}}
        await audit(
            conn, actor, f"business_{action}", f"pipeline_businesses:{business_id}", details
        )
    return None


async def retry_outreach(actor: Actor, business_id: int) -> str | None:
    """Outreach of a deployed business back to `pending`, so the sweeper starts it again."""
    async with get_runtime().db.as_caller(actor.caller()) as conn:
        row = await (
            await conn.execute(
                "select id, outreach_status, claimed from public.qualified_businesses"
                " where pipeline_business_id = %s for update",
                (business_id,),
            )
        ).fetchone()
        if row is None:
            return NO_SITE
        before = row["outreach_status"]
        if (refused := outreach_refusal(before, bool(row["claimed"]))) is not None:
            return refused
        await conn.execute("select public.set_outreach_status(%s, 'pending')", (row["id"],))
        details = {"before": {"outreach_status": before}, "after": {"outreach_status": "pending"}}
        await audit(conn, actor, "outreach_retried", f"qualified_businesses:{row['id']}", details)
    return None


async def requeue_failed(actor: Actor, expected: int) -> int:
    """Requeue every failed business (the admin was shown `expected`); how many moved."""
    async with get_runtime().db.as_caller(actor.caller()) as conn:
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
