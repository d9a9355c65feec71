"""`/runs`: run history (duration, counts, errors) with filters, keyset paging and
CSV export; `?run=<id>` (or clicking a row) opens that run's own logs below."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from nicegui import ui
from nicegui.events import GenericEventArguments

from dashboard.components import live
from dashboard.components.frame import current_zone, frame, path_prefix
from dashboard.components.table import ServerTable, column
from dashboard.components.timefmt import format_duration, format_time
from dashboard.data.filters import RUN_PROCESSES as PROCESSES
from dashboard.data.filters import RUN_STATUSES as STATUSES
from dashboard.data.filters import log_filters, parse_id, run_filters
from dashboard.data.history import fetch_keyset, rows_by_id
from dashboard.data.query import Filter
from dashboard.live.bus import RowBatch
from dashboard.pages.logs import COLUMNS as LOG_COLUMNS
from dashboard.runtime import get_runtime

COLUMNS = [
    column("id", "Run"),
    column("process", "Process"),
    column("trigger", "Trigger"),
    column("status", "Status"),
    column("started_at", "Started", classes="whitespace-nowrap"),
    column("duration", "Duration"),
    column("items_processed", "Processed", align="right"),
    column("items_failed", "Failed", align="right"),
    column("error", "Error"),
    column("worker_id", "Worker"),
]


async def run_rows(ids: list[Any]) -> list[dict[str, Any]]:
    """The runs started or changed in one burst (one query for all browsers).

    Module-level: the live bus shares one row feed per table."""
    return await rows_by_id(get_runtime().api, "automation_runs", ids)


def format_run(row: dict[str, Any]) -> dict[str, Any]:
    row["duration"] = format_duration(row["started_at"], row.get("finished_at"))
    row["started_at"] = format_time(row["started_at"], current_zone())
    row.pop("finished_at", None)
    return row


class RunsView:
    def __init__(self) -> None:
        with ui.row().classes("w-full items-start gap-2 flex-wrap"):
            self.process = ui.select(
                {"": "All processes", **{p: p for p in PROCESSES}},
                value="",
                label="Process",
                on_change=self.apply,
            ).classes("w-48")
            self.status = ui.select(
                {"": "All statuses", **{s: s for s in STATUSES}},
                value="",
                label="Status",
                on_change=self.apply,
            ).classes("w-40")
        prefix = path_prefix()
        self.table = ServerTable(
            COLUMNS,
            self.fetch,
            format_row=format_run,
            link=("id", lambda row: f"{prefix}/runs?run={int(row['id'])}"),
            states=("status",),
        )
        self.table.table.on("rowClick", self.open_from_click)
        self.detail = ui.column().classes("w-full")

    def filters(self) -> list[Filter]:
        return run_filters(self.process.value or None, self.status.value or None)

    async def fetch(self, before_id: int | None, limit: int) -> Sequence[dict[str, Any]]:
        return await fetch_keyset(
            get_runtime().api, "automation_runs", self.filters(), before_id, limit
        )

    def merge(self, batch: RowBatch) -> bool:
        """Fold a burst's new or finished runs into page 1 (no query of our own)."""
        return self.table.merge_rows(batch.rows, self.filters())

    async def apply(self) -> None:
        params = {"process": self.process.value or "", "status": self.status.value or ""}
        query = urlencode({k: v for k, v in params.items() if v})
        self.table.set_export_url("/api/admin/export/runs.csv" + (f"?{query}" if query else ""))
        await self.table.reload()

    async def open_from_click(self, e: GenericEventArguments) -> None:
        args = e.args if isinstance(e.args, list) else [e.args]
        row = next((a for a in args if isinstance(a, dict) and "id" in a), None)
        if row is not None:
            await self.open_run(int(row["id"]))

    async def open_run(self, run_id: int) -> None:
        self.detail.clear()
        with self.detail:
            with ui.row().classes("items-center gap-4"):
                ui.label(f"Logs of run #{run_id}").classes("text-lg font-semibold")
                ui.link("open in Logs", f"/logs?run={run_id}")
            filters = log_filters(None, None, None, run_id)

            async def fetch(before_id: int | None, limit: int) -> Sequence[dict[str, Any]]:
                return await fetch_keyset(
                    get_runtime().api, "automation_logs", filters, before_id, limit
                )

            def fmt(row: dict[str, Any]) -> dict[str, Any]:
                row["created_at"] = format_time(row["created_at"], current_zone())
                row.pop("metadata", None)
                return row

            logs = ServerTable(LOG_COLUMNS, fetch, format_row=fmt, page_size=25, states=("level",))
            logs.set_export_url(f"/api/admin/export/logs.csv?run={run_id}")
        await logs.reload()


@ui.page("/runs")
async def runs_page(run: str | None = None) -> None:
    with frame("Runs", "/runs"):
        view = RunsView()
        live.follow_rows("automation_runs", run_rows, view.merge, view.table.refresh_first_page)
        await view.apply()
        try:
            run_id = parse_id(run, "run")
        except ValueError as exc:
            ui.label(f"Cannot open run {run!r}: {exc}").classes("text-negative")
            run_id = None
        if run_id is not None:
            await view.open_run(run_id)
