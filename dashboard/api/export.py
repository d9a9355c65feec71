"""`GET /api/admin/export/<view>.csv`: any table view as CSV, streamed from the server
in keyset batches (memory stays flat at a million rows). The query string takes the
same filters as the page, checked the same way; a bad filter is 400 with a reason.
Guarded like the rest of `/api/admin/*`."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import StreamingResponse

from dashboard.auth.access import require_admin_api
from dashboard.auth.sessions import AdminSession
from dashboard.data.filters import (
    CONTROL,
    audit_filters,
    check_choice,
    check_text,
    log_filters,
    parse_id,
    run_filters,
)
from dashboard.data.history import fetch_keyset
from dashboard.data.models import SearchStatus
from dashboard.data.overview import search_businesses
from dashboard.data.query import BackendError, Filter
from dashboard.runtime import get_runtime

router = APIRouter(prefix="/api/admin/export")
Admin = Annotated[AdminSession, Depends(require_admin_api)]
BATCH = 1000
Fetch = Callable[[int | None, int], Awaitable[Sequence[dict[str, Any]]]]

COLUMNS: dict[str, tuple[str, ...]] = {
    "logs": (
        "id",
        "created_at",
        "process",
        "level",
        "message",
        "run_id",
        "business_id",
        "metadata",
    ),
    "runs": (
        "id",
        "process",
        "trigger",
        "status",
        "started_at",
        "finished_at",
        "items_processed",
        "items_failed",
        "error",
        "worker_id",
        "command_id",
    ),
    "audit": (
        "id",
        "created_at",
        "actor_id",
        "actor_email",
        "action",
        "target",
        "details",
        "ip",
        "user_agent",
    ),
    "businesses": (
        "id",
        "uuid",
        "place_id",
        "name",
        "category",
        "city",
        "region",
        "status",
        "site_status",
        "outreach_status",
        "claimed",
        "preview_url",
        "attempts",
        "last_error",
        "created_at",
        "updated_at",
    ),
}
TABLES = {"logs": "automation_logs", "runs": "automation_runs", "audit": "admin_audit_log"}
FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")  # and their full-width forms
#: What a spreadsheet skips before it looks for a formula: whitespace and C0/C1 controls.
IGNORED_LEADING = "".join(chr(c) for c in (*range(0x21), 0x7F, *range(0x80, 0xA1), 0x3000))
SEARCH_STATUSES: tuple[str, ...] = SearchStatus.__args__  # type: ignore[attr-defined]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, default=str, sort_keys=True)
    if not isinstance(value, str):
        return value
    return "'" + value if starts_like_formula(value) else value


def starts_like_formula(text: str) -> bool:
    """Whether a spreadsheet could run this cell as a formula: it starts with `=`, `+`,
    `-`, `@`, a tab or a CR, or with any of them after leading spaces and control
    characters (LibreOffice evaluates ` =1+4`, Excel a cell that starts with a tab)."""
    if text[:1] in FORMULA_STARTS:
        return True
    return text.lstrip(IGNORED_LEADING)[:1] in FORMULA_STARTS


def _table_fetch(table: str, filters: list[Filter]) -> Fetch:
    async def fetch(before_id: int | None, limit: int) -> Sequence[dict[str, Any]]:
        return await fetch_keyset(get_runtime().api, table, filters, before_id, limit)

    return fetch


def _search_fetch(query: str | None, status: str | None) -> Fetch:
    async def fetch(before_id: int | None, limit: int) -> Sequence[dict[str, Any]]:
        rows = await search_businesses(
            get_runtime().api,
            query,
            cast(SearchStatus | None, status),
            before_id,
            min(limit, 500),
        )
        return [r.model_dump() for r in rows]

    return fetch


def fetch_for(view: str, params: dict[str, str]) -> Fetch:
    """The batch reader of one view with its filters; ValueError on a bad filter."""
    if view == "logs":
        run_id = parse_id(params.get("run"), "run")
        filters = log_filters(params.get("process"), params.get("level"), params.get("q"), run_id)
    elif view == "runs":
        filters = run_filters(params.get("process"), params.get("status"))
    elif view == "audit":
        filters = audit_filters(params.get("action"), params.get("actor"))
    elif view == "businesses":
        status = check_choice(params.get("status"), SEARCH_STATUSES, "status")
        return _search_fetch(check_text(params.get("q"), "search"), status)
    else:
        raise ValueError(f"unknown view: choose one of {', '.join(COLUMNS)}")
    return _table_fetch(TABLES[view], filters)


async def csv_lines(
    columns: Sequence[str], fetch: Fetch, first: Sequence[dict[str, Any]]
) -> AsyncIterator[str]:
    """The header, then `first` (read before the response started), then every later
    batch."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    yield buffer.getvalue()
    rows = first
    while rows:
        buffer.seek(0)
        buffer.truncate()
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
        yield buffer.getvalue()
        rows = await fetch(int(rows[-1]["id"]), BATCH)


def check_params(params: Mapping[str, str]) -> dict[str, str]:
    """The query string as a dict; ValueError for a control character (a NUL byte cannot
    even reach PostgreSQL) anywhere in a name or a value."""
    for name, value in params.items():
        if CONTROL.search(name) or CONTROL.search(value):
            raise ValueError(f"{name or 'a parameter'} holds a control character: remove it")
    return dict(params)


@router.get("/{view}.csv")
async def export_csv(view: str, request: Request, session: Admin) -> StreamingResponse:
    """Every row of `view` that its filters match; bad input is 400 before the stream
    starts, because the first batch is read before the 200 is sent."""
    try:
        fetch = fetch_for(view, check_params(request.query_params))
        first = await fetch(None, BATCH)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    except BackendError as exc:
        if not exc.is_invalid_input:
            raise
        raise HTTPException(400, f"the filter was refused: {exc.message}") from None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        csv_lines(COLUMNS[view], fetch, first),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{view}-{stamp}.csv"'},
    )
