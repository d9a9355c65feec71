"""The two reads every history table (logs, runs, audit) makes: a keyset page, and a
live burst's rows by id. No route here.

The by-id readers are module-level on purpose: the live bus makes one shared row feed
per table with the first reader it is given, so every browser's tail is served by the
same single query per burst (`dashboard.components.live.follow_rows`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dashboard.backends.base import Filter, Order
from dashboard.runtime import get_runtime

Row = dict[str, Any]


async def fetch_keyset(
    table: str, filters: list[Filter], before_id: int | None, limit: int
) -> Sequence[Row]:
    """Newest first by id, after the cursor: the one query every history table uses."""
    if before_id is not None:
        filters = [*filters, Filter("id", "lt", before_id)]
    page = await get_runtime().api.select(
        table, filters=filters, order=[Order("id", desc=True)], limit=limit
    )
    return page.rows


async def _by_ids(table: str, ids: list[Any]) -> list[Row]:
    page = await get_runtime().api.select(table, filters=[Filter("id", "in", list(ids))])
    return page.rows


async def log_rows(ids: list[Any]) -> list[Row]:
    """The log lines of one burst (one query for all browsers)."""
    return await _by_ids("automation_logs", ids)


async def run_rows(ids: list[Any]) -> list[Row]:
    """The runs started or changed in one burst."""
    return await _by_ids("automation_runs", ids)


async def audit_rows(ids: list[Any]) -> list[Row]:
    """The audit rows of one burst."""
    return await _by_ids("admin_audit_log", ids)
