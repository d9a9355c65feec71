"""The side effects of a payment, each recorded in `stripe_idempotency` exactly once.

Keys are per business (`activate:<uuid>`, `stop:<uuid>`) or per event
(`review:<event id>`); `claim:<uuid>` is written by `mark_business_claimed` itself.
Database-only effects insert their key and make their change in one transaction, so
they happen once or not at all. Stopping outreach calls the provider first and records
the key afterwards: a crash in between repeats the provider call on retry, which is
harmless because pausing a lead is idempotent at the provider.
"""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from dashboard.backends.base import SERVICE, Backend, Filter
from dashboard.backends.postgres import AsyncConn, PostgresBackend
from dashboard.outreach.base import OutreachProvider
from dashboard.outreach.campaign import load_business, stop_campaign

INSERT_KEY = """
insert into public.stripe_idempotency (key, event_id, side_effect, result)
values (%s, %s, %s, %s) on conflict (key) do nothing returning key
"""
LOG = "select public.log_automation_event('payments', %s, %s, null, %s, %s)"


async def effect_done(api: Backend, key: str) -> bool:
    page = await api.select("stripe_idempotency", columns="key", filters=[Filter("key", "eq", key)])
    return bool(page.rows)


async def _claim_key(conn: AsyncConn, key: str, event_id: str | None, effect: str) -> bool:
    cur = await conn.execute(INSERT_KEY, (key, event_id, effect, Jsonb({})))
    return await cur.fetchone() is not None


async def activate_site(
    db: PostgresBackend, business_id: int, *, event_id: str | None, source: str
) -> dict[str, Any]:
    """Make the site live (`site_status = 'active'`) once per business, in one transaction."""
    async with db.as_caller(SERVICE) as conn:
        cur = await conn.execute(
            "select uuid, pipeline_business_id, site_status from public.qualified_businesses"
            " where id = %s for update",
            (business_id,),
        )
        row = await cur.fetchone()
        if row is None:
            return {"activated": False, "note": f"no qualified business with id {business_id}"}
        first = await _claim_key(conn, f"activate:{row['uuid']}", event_id, "activate_site")
        if event_id is not None and not first:
            return {"activated": False, "note": "already activated for this payment"}
        if row["site_status"] == "active":
            return {"activated": False, "note": "the site is already active"}
        await conn.execute(
            "update public.qualified_businesses set site_status = 'active',"
            " activated_at = now(), activation_error = null where id = %s",
            (business_id,),
        )
        message = f"site {row['uuid']} activated ({source})"
        meta = {"qualified_business_id": business_id, "event_id": event_id, "source": source}
        await conn.execute(LOG, ("info", message, row["pipeline_business_id"], Jsonb(meta)))
    return {"activated": True, "uuid": row["uuid"]}


async def stop_for_payment(
    db: PostgresBackend, provider: OutreachProvider, business_id: int, *, event_id: str
) -> dict[str, Any]:
    """Stop the business's outreach once per business after its payment."""
    business = await load_business(db, business_id=business_id)
    key = f"stop:{business.uuid}"
    if await effect_done(db, key):
        return {"stopped": False, "note": "outreach was already stopped for this payment"}
    result = await stop_campaign(db, provider, business, reason=f"paid (Stripe {event_id})")
    async with db.as_caller(SERVICE) as conn:
        await conn.execute(INSERT_KEY, (key, event_id, "stop_campaign", Jsonb(result)))
    return result


async def mark_for_review(
    db: PostgresBackend, business_id: int, reason: str, *, event_id: str
) -> bool:
    """Add `reason` to the business's review flag, once per event; True if it was added."""
    async with db.as_caller(SERVICE) as conn:
        if not await _claim_key(conn, f"review:{event_id}", event_id, "mark_for_review"):
            return False
        cur = await conn.execute(
            "update public.qualified_businesses"
            " set review_reason = concat_ws('; ', review_reason, %s::text)"
            " where id = %s returning pipeline_business_id, uuid",
            (reason, business_id),
        )
        row = await cur.fetchone()
        if row is not None:
            message = f"business {row['uuid']} needs review: {reason}"
            meta = {"qualified_business_id": business_id, "event_id": event_id}
            await conn.execute(LOG, ("warning", message, row["pipeline_business_id"], Jsonb(meta)))
    return True
