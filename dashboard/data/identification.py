"""The identification grid: current target, advancing, and de-duplication (RPC 2, 7, 10)."""

from __future__ import annotations

from typing import Literal

from dashboard.backends.base import SERVICE, Backend, Caller
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
