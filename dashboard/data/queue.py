"""The implementation queue: stats, claims, deploys, failures, stale resets (RPC 1, 4, 8, 9, 11)."""

from __future__ import annotations

from uuid import UUID

from dashboard.backends.base import SERVICE, Backend, Caller
from dashboard.data._rpc import first, integer, one
from dashboard.data.models import PipelineBusiness, QualifiedBusiness, QueueStatistics


async def get_queue_statistics(api: Backend, *, caller: Caller = SERVICE) -> QueueStatistics:
    """Counts per status, stale claims, oldest queued age and throughput (RPC 1)."""
    value = await api.rpc("get_queue_statistics", caller=caller)
    return QueueStatistics.model_validate(value)


async def claim_next_business(
    api: Backend, worker_id: str, *, caller: Caller = SERVICE
) -> PipelineBusiness | None:
    """Take the next queued business for `worker_id`; None when none is due (RPC 4)."""
    rows = await api.rpc("claim_next_business", {"p_worker_id": worker_id}, caller=caller)
    return first(PipelineBusiness, rows)


async def mark_business_deployed(
    api: Backend,
    business_id: int,
    preview_url: str,
    claim_token: UUID | str,
    uuid: str | None = None,
    *,
    caller: Caller = SERVICE,
) -> QualifiedBusiness:
    """Finish a claim as deployed; 55000 'claim lost' if the token no longer holds (RPC 8)."""
    params = {
        "p_business_id": business_id,
        "p_preview_url": preview_url,
        "p_claim_token": str(claim_token),
        "p_uuid": uuid,
    }
    row = await api.rpc("mark_business_deployed", params, caller=caller)
    return one(QualifiedBusiness, row, "mark_business_deployed")


async def reset_stale_started_businesses(
    api: Backend, stale_after_minutes: int | None = None, *, caller: Caller = SERVICE
) -> int:
    """Requeue (or fail, past max_attempts) claims older than the limit; how many (RPC 9)."""
    params = {"p_stale_after_minutes": stale_after_minutes}
    value = await api.rpc("reset_stale_started_businesses", params, caller=caller)
    return integer(value, "reset_stale_started_businesses")


async def mark_business_failed(
    api: Backend,
    business_id: int,
    claim_token: UUID | str,
    error: str,
    retry: bool = True,
    *,
    release: bool = False,
    caller: Caller = SERVICE,
) -> PipelineBusiness:
    """Finish a claim as failed: requeued while attempts remain and `retry` (RPC 11).

    `release` hands the claim back untried: queued again whatever the attempts, the
    claim's attempt given back, `last_error` kept (a worker stopping mid-item).
    """
    params = {
        "p_business_id": business_id,
        "p_claim_token": str(claim_token),
        "p_error": error,
        "p_retry": retry,
        "p_release": release,
    }
    row = await api.rpc("mark_business_failed", params, caller=caller)
    return one(PipelineBusiness, row, "mark_business_failed")
