"""The two reads every history table (logs, runs, audit) and its CSV export make: a
keyset page, newest first, and a live burst's rows by id.

The pages wrap `rows_by_id` in one module-level reader per table: the live bus makes
one shared row feed per table with the first reader it is given, so every browser's
tail is served by the same single query per burst
(`dashboard.components.live.follow_rows`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dashboard.backends.base import Backend, Filter, Order

Row = dict[str, Any]


async def fetch_keyset(
    api: Backend, table: str, filters: list[Filter], before_id: int | None, limit: int
) -> Sequence[Row]:
    """Newest first by id, after the cursor: the one query every history table uses."""
    if before_id is not None:
        filters = [*filters, Filter("id", "lt", before_id)]
    page = await api.select(table, filters=filters, order=[Order("id", desc=True)], limit=limit)
    return page.rows


async def rows_by_id(api: Backend, table: str, ids: list[Any]) -> list[Row]:
    """The rows of `table` with these ids (one live burst's, for all browsers)."""
    page = await api.select(table, filters=[Filter("id", "in", list(ids))])
    return page.rows
