"""The identification grid: current target, advancing, de-duplication (RPC 2, 7, 10), and
the grid as the overview's progress chart reads it."""

from __future__ import annotations

from typing import Any, Literal

from dashboard.backends.base import SERVICE, Backend, Caller, Order
from dashboard.data._rpc import first
from dashboard.data.models import IdentificationTarget


async def get_current_identification_target(
    api: Backend, *, caller: Caller = SERVICE
) -> IdentificationTarget | None:
    """The target in progress, or None (RPC 2)."""
    rows = await api.rpc("get_current_identification_target", caller=caller)
    return first(IdentificationTarget, rows)


async def advance_identification_position(
    api: Backend,
    businesses_found: int = 0,
    status: Literal["done", "skipped"] = "done",
    *,
    caller: Caller = SERVICE,
) -> IdentificationTarget | None:
    """Close the current target and open the next; None when the grid is finished (RPC 7)."""
    params = {"p_businesses_found": businesses_found, "p_status": status}
    rows = await api.rpc("advance_identification_position", params, caller=caller)
    return first(IdentificationTarget, rows)


async def get_existing_businesses_for_target(
    api: Backend, target_id: int, *, caller: Caller = SERVICE
) -> set[str]:
    """place_ids already known for this target or its city/region/category (RPC 10)."""
    rows = await api.rpc(
        "get_existing_businesses_for_target", {"p_target_id": target_id}, caller=caller
    )
    out: set[str] = set()
    for row in rows or []:
        out.add(next(iter(row.values())) if isinstance(row, dict) else str(row))
    return out


#: The columns of a target that the overview's progress chart draws.
TARGET_CHART_COLUMNS = "id,position,city,region,category,status,businesses_found"


async def list_targets_for_chart(
    api: Backend, *, limit: int = 10000, caller: Caller = SERVICE
) -> list[dict[str, Any]]:
    """The search grid in position order, as the rows the overview's chart draws."""
    page = await api.select(
        "identification_targets",
        columns=TARGET_CHART_COLUMNS,
        order=[Order("position")],
        limit=limit,
        caller=caller,
    )
    return page.rows
