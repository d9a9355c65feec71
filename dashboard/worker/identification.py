"""Identification: one target of the search grid per step.

The grid is one cursor (`advance_identification_position` has no target argument),
so only one worker identifies at a time: the holder of a PostgreSQL advisory lock
on its own connection (`Leadership`). Other identification workers stand by and
take over within a step when the holder dies (its session, and so the lock, ends).
"""

from __future__ import annotations

import logging

import psycopg

from dashboard.data.identification import (
    advance_identification_position,
    get_current_identification_target,
    get_existing_businesses_for_target,
)
from dashboard.data.models import AutomationConfig, IdentificationTarget
from dashboard.worker.loop import Outcome, ProcessLoop
from dashboard.worker.ports import FoundBusiness, ProviderError
from dashboard.worker.store import count_offerable_backlog, insert_found

LOCK_KEY = 0x0C11F706  # advisory lock: the identification grid's single walker
log = logging.getLogger("dashboard.worker")


class Leadership:
    """Holds `pg_try_advisory_lock(LOCK_KEY)` on a dedicated connection while alive."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn: psycopg.AsyncConnection[tuple[object, ...]] | None = None

    async def acquire(self) -> bool:
        if self.conn is not None and not self.conn.closed:
            try:
                await self.conn.execute("select 1")
                return True
            except psycopg.Error:
                await self.release()
        conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        cur = await conn.execute("select pg_try_advisory_lock(%s)", (LOCK_KEY,))
        row = await cur.fetchone()
        if row and row[0]:
            self.conn = conn
            return True
        await conn.close()
        return False

    async def release(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None and not conn.closed:
            await conn.close()


class IdentificationStep:
    def __init__(self, leadership: Leadership | None) -> None:
        self.leadership = leadership

    async def __call__(self, loop: ProcessLoop, config: AutomationConfig) -> Outcome:
        api = loop.ctx.api
        if self.leadership is not None and not await self.leadership.acquire():
            loop.note = "standby: another worker is walking the identification grid"
            return "empty"
        limit = loop.ctx.options.max_backlog
        if limit and (backlog := await count_offerable_backlog(api)) >= limit:
            loop.note = f"waiting: {backlog} found businesses with an email are still queued"
            return "empty"
        target = await get_current_identification_target(api)
        if target is None:
            target = await advance_identification_position(api)
        if target is None:
            loop.note = "the identification grid is finished: add targets to continue"
            loop.current_target_id = None
            return "empty"
        loop.note = None
        loop.current_target_id = target.id
        await loop.open_run()
        return await identify(loop, target)


async def identify(loop: ProcessLoop, target: IdentificationTarget) -> Outcome:
    """Find businesses for `target`, queue the unknown ones without a website, advance."""
    ctx, run = loop.ctx, loop.run
    run_id = run.id if run else None
    where = f"{target.category} in {target.city}, {target.region} (#{target.position})"
    try:
        found = await ctx.finder.find(target)
    except ProviderError as exc:
        streak = ctx.health.failure(exc.provider, "identification")
        loop.record(False)
        await ctx.log(
            "identification", "warning", f"{where}: finder failed ({streak} in a row): {exc}",
            run_id=run_id, metadata={"target_id": target.id, "provider": exc.provider},
        )  # fmt: skip
        return "failed"
    ctx.health.success(ctx.finder.name)
    known = await get_existing_businesses_for_target(ctx.api, target.id)
    fresh, with_site, already = split_found(found, known)
    # the contact step: before queueing, so the email is there when the site deploys
    contacts = await ctx.contacts.find_all(fresh, target)
    queued = await insert_found(ctx.api, target, fresh, contacts)
    await advance_identification_position(ctx.api, queued, "done")
    loop.record(True)
    emails = sum(1 for c in contacts if c.email)
    counts = {"found": len(found), "with_website": with_site, "known": already, "queued": queued,
              "with_email": emails}  # fmt: skip
    await ctx.log(
        "identification", "info",
        f"{where}: {len(found)} found, {with_site} have a website, {already} already known,"
        f" {queued} queued ({emails} of {len(fresh)} new with an owner email)",
        run_id=run_id, metadata={"target_id": target.id, **counts},
    )  # fmt: skip
    return "done"


def split_found(
    found: list[FoundBusiness], known: set[str]
) -> tuple[list[FoundBusiness], int, int]:
    """(new businesses without a website, how many had a website, how many were known)."""
    fresh: list[FoundBusiness] = []
    with_site = already = 0
    seen: set[str] = set()
    for business in found:
        if business.website:
            with_site += 1
        elif business.place_id in known or business.place_id in seen:
            already += 1
        else:
            seen.add(business.place_id)
            fresh.append(business)
    return fresh, with_site, already
