"""Implementation: claim one business, build its site, deploy it, mark it deployed.

Claims are fenced by the claim token: if the stale reset requeued our business while
we were building (we were too slow, or thought dead), `mark_business_deployed`
raises 55000 "claim lost" and writes nothing; we take our files down, log it and
move on, and the worker that holds the new claim finishes the business once.
`mark_business_deployed` and `mark_business_failed` also write the business's log line
in their own transaction, so a worker killed right after a finish leaves no business
without its line.
"""

from __future__ import annotations

import asyncio
import logging

from dashboard.backends.base import BackendError
from dashboard.data.models import AutomationConfig, PipelineBusiness
from dashboard.data.queue import claim_next_business, mark_business_deployed, mark_business_failed
from dashboard.worker.loop import Outcome, ProcessLoop
from dashboard.worker.ports import ProviderError
from dashboard.worker.sites import new_site_uuid

CLAIM_LOST = "55000"

log = logging.getLogger("dashboard.worker")


async def implementation_step(loop: ProcessLoop, config: AutomationConfig) -> Outcome:
    business = await claim_next_business(loop.ctx.api, loop.ctx.worker_id)
    if business is None:
        loop.note = "waiting for queued businesses (or the daily deploy limit)"
        return "empty"
    loop.note = None
    loop.current_business_id = business.id
    try:
        try:
            await loop.open_run()
        except asyncio.CancelledError:
            # stopped between the claim and the build: hand the business back too
            await asyncio.shield(release(loop, business, None))
            raise
        return await implement(loop, business)
    finally:
        loop.current_business_id = None


async def implement(loop: ProcessLoop, business: PipelineBusiness) -> Outcome:
    ctx = loop.ctx
    uuid = new_site_uuid()
    try:
        site = await ctx.builder.build(business, uuid)
        url = await ctx.deployer.deploy(site)
    except ProviderError as exc:
        ctx.health.failure(exc.provider, "implementation")
        await ctx.deployer.remove(uuid)
        return await fail(loop, business, str(exc), exc.retryable)
    except asyncio.CancelledError:
        # Stopping mid-item past the grace period: hand the business back at once.
        await asyncio.shield(release(loop, business, uuid))
        raise
    ctx.health.success(ctx.builder.name)
    ctx.health.success(ctx.deployer.name)
    assert business.claim_token is not None
    try:
        qualified = await mark_business_deployed(
            ctx.api, business.id, url, business.claim_token, uuid
        )
    except BackendError as exc:
        await ctx.deployer.remove(uuid)
        if exc.code == CLAIM_LOST:
            return await lost(loop, business, exc)
        return await fail(loop, business, f"could not record the deploy: {exc}", True)
    loop.record(True)
    # mark_business_deployed wrote the automation_logs line in the deploy's transaction
    log.info("[implementation] deployed %s at %s", business.name, qualified.preview_url)
    return "done"


async def fail(loop: ProcessLoop, business: PipelineBusiness, error: str, retry: bool) -> Outcome:
    ctx = loop.ctx
    assert business.claim_token is not None
    try:
        row = await mark_business_failed(ctx.api, business.id, business.claim_token, error, retry)
    except BackendError as exc:
        if exc.code == CLAIM_LOST:
            return await lost(loop, business, exc)
        raise
    loop.record(False)
    # mark_business_failed wrote the automation_logs line in the same transaction
    requeued = row.status == "queued"
    log.log(logging.WARNING if requeued else logging.ERROR, "[implementation] %s: %s; %s",
            business.name, error, "requeued" if requeued else "failed for good")  # fmt: skip
    return "failed"


async def lost(loop: ProcessLoop, business: PipelineBusiness, exc: BackendError) -> Outcome:
    await loop.ctx.log(
        "implementation", "warning",
        f"{business.name}: claim lost before finishing ({exc.message}); another worker has it",
        run_id=_run_id(loop), business_id=business.id,
    )  # fmt: skip
    return "lost"


async def release(loop: ProcessLoop, business: PipelineBusiness, uuid: str | None) -> None:
    ctx = loop.ctx
    if uuid is not None:
        await ctx.deployer.remove(uuid)
    assert business.claim_token is not None
    try:
        await mark_business_failed(
            ctx.api, business.id, business.claim_token, "the worker stopped mid-item",
            release=True,
        )  # fmt: skip
    except BackendError:
        return  # the claim was already lost: nothing of ours to release
    # mark_business_failed wrote the automation_logs line in the same transaction
    log.warning("[implementation] %s: released, the worker is stopping", business.name)


def _run_id(loop: ProcessLoop) -> int | None:
    return loop.run.id if loop.run else None
