"""Dashboard reads: the first-paint snapshot, charts and business search (RPC 18-21)."""

from __future__ import annotations

from dashboard.backends.base import SERVICE, Backend, Caller
from dashboard.data._rpc import many
from dashboard.data.models import (
    Bucket,
    BusinessSearchPage,
    BusinessSearchRow,
    DashboardSnapshot,
    FunnelRow,
    MatchCount,
    SearchStatus,
    ThroughputPoint,
)


async def get_dashboard_snapshot(api: Backend, *, caller: Caller = SERVICE) -> DashboardSnapshot:
    """Everything the overview paints first, in one round trip (RPC 18)."""
    value = await api.rpc("get_dashboard_snapshot", caller=caller)
    return DashboardSnapshot.model_validate(value)


async def get_throughput_timeseries(
    api: Backend, hours: int = 24, bucket: Bucket = "hour", *, caller: Caller = SERVICE
) -> list[ThroughputPoint]:
    """Identified / deployed / claimed per bucket, every bucket present (RPC 19)."""
    params = {"p_hours": hours, "p_bucket": bucket}
    return many(ThroughputPoint, await api.rpc("get_throughput_timeseries", params, caller=caller))


async def get_conversion_funnel(
    api: Backend, target_id: int | None = None, *, caller: Caller = SERVICE
) -> list[FunnelRow]:
    """The overall funnel row first, then one per target; or one target's row (RPC 20)."""
    rows = await api.rpc("get_conversion_funnel", {"p_target_id": target_id}, caller=caller)
    return many(FunnelRow, rows)


async def search_businesses(
    api: Backend,
    query: str | None = None,
    status: SearchStatus | None = None,
    before_id: int | None = None,
    limit: int = 50,
    *,
    caller: Caller = SERVICE,
) -> list[BusinessSearchRow]:
    """Newest first; pass the last row's id as `before_id` for the next page (RPC 21)."""
    page = await search_businesses_page(api, query, status, before_id, limit, caller=caller)
    return page.rows


async def search_businesses_page(
    api: Backend,
    query: str | None = None,
    status: SearchStatus | None = None,
    before_id: int | None = None,
    limit: int = 50,
    *,
    caller: Caller = SERVICE,
) -> BusinessSearchPage:
    """`search_businesses` with, on the first page (`before_id` None), how many match:
    exact up to 10,000, else the planner's estimate, flagged (RPC 21)."""
    params = {"p_query": query, "p_status": status, "p_before_id": before_id, "p_limit": limit}
    raw = await api.rpc("search_businesses", params, caller=caller)
    rows = raw if isinstance(raw, list) else [] if raw is None else [raw]
    total = None
    if before_id is None:
        head = rows[0] if rows else {}
        total = MatchCount(
            count=int(head.get("match_count") or 0),
            estimated=bool(head.get("match_count_is_estimate")),
        )
    return BusinessSearchPage(rows=many(BusinessSearchRow, rows), total=total)
