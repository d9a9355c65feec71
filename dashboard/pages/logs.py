"""`/logs`: a live tail of `automation_logs` that new lines join as they commit (read
once per burst for every browser, filtered here in memory), with
filters (process, level, run, text), a pause toggle, keyset paging into history and
a CSV export of the same view."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from nicegui import ui

from dashboard.components import live
from dashboard.components.frame import current_zone, frame
from dashboard.components.table import ServerTable, column
from dashboard.components.timefmt import format_time
from dashboard.data.filters import LOG_LEVELS as LEVELS
from dashboard.data.filters import LOG_PROCESSES as PROCESSES
from dashboard.data.filters import log_filters, parse_id
from dashboard.data.history import fetch_keyset, rows_by_id
from dashboard.data.query import Filter
from dashboard.live.bus import RowBatch
from dashboard.runtime import get_runtime

MAX_SEARCH = 200
#: The level and the message first: on a phone they are what fits the first screen.
COLUMNS = [
    column("level", "Level"),
    column("message", "Message", classes="cs-log-message"),
    column("created_at", "Time", classes="whitespace-nowrap"),
    column("process", "Process"),
    column("run_id", "Run"),
    column("business_id", "Business"),
]


async def log_rows(ids: list[Any]) -> list[dict[str, Any]]:
    """The log lines of one burst (one query for all browsers).

    Module-level: the live bus shares one row feed per table."""
    return await rows_by_id(get_runtime().api, "automation_logs", ids)


class LogsView:
    """The filter bar and the table of one logs page."""

    def __init__(self, process: str | None, run: str | None) -> None:
        self.paused = False
        self.applied: list[Filter] = []  # set by `apply`
        with ui.row().classes("w-full items-start gap-2 flex-wrap"):
            self.process = ui.select(
                {"": "All processes", **{p: p for p in PROCESSES}},
                value=process if process in PROCESSES else "",
                label="Process",
                on_change=self.apply,
            ).classes("w-48")
            self.level = ui.select(
                {"": "All levels", **{lv: lv for lv in LEVELS}},
                value="",
                label="Level",
                on_change=self.apply,
            ).classes("w-36")
            self.run = ui.input("Run id", value=run or "", validation=self._run_error)
            self.run.classes("w-28").on("keydown.enter", self.apply).mark("logs-run")
            self.text = ui.input("Search messages", validation=self._text_error)
            self.text.classes("w-64").on("keydown.enter", self.apply).mark("logs-search")
            ui.button("Search", icon="search", on_click=self.apply).props("no-caps")
            ui.switch("Pause tail", on_change=self._pause).mark("logs-pause")
        self.table = ServerTable(COLUMNS, self.fetch, format_row=self.format_row, states=("level",))

    @staticmethod
    def _run_error(value: str) -> str | None:
        try:
            parse_id(value, "Run id")
        except ValueError as exc:
            return str(exc)
        return None

    @staticmethod
    def _text_error(value: str) -> str | None:
        if len(value or "") > MAX_SEARCH:
            return f"Search at most {MAX_SEARCH} characters"
        return None

    async def _pause(self, e: Any) -> None:
        self.paused = bool(e.value)
        if not self.paused:  # catch up on what the paused tail let pass
            await self.table.refresh_first_page()

    def filters(self) -> list[Filter]:
        """The filters as last applied: text typed but not searched is not applied (the
        live tail would otherwise mix two filters in one table)."""
        return self.applied

    def _typed_filters(self) -> list[Filter]:
        run_id = parse_id(self.run.value, "Run id")
        text = (self.text.value or "").strip()
        return log_filters(self.process.value or None, self.level.value or None, text, run_id)

    async def apply(self) -> None:
        if not (self.run.validate() and self.text.validate()):
            # the field says what is wrong; no lines of the last filters stay under it
            self.table.hold("Fix the filters above to see log lines.")
            return
        self.applied = self._typed_filters()
        params = {
            "process": self.process.value or "",
            "level": self.level.value or "",
            "run": self.run.value.strip(),
            "q": (self.text.value or "").strip(),
        }
        query = urlencode({k: v for k, v in params.items() if v})
        self.table.set_export_url("/api/admin/export/logs.csv" + (f"?{query}" if query else ""))
        await self.table.reload()

    async def fetch(self, before_id: int | None, limit: int) -> Sequence[dict[str, Any]]:
        return await fetch_keyset(
            get_runtime().api, "automation_logs", self.filters(), before_id, limit
        )

    def format_row(self, row: dict[str, Any]) -> dict[str, Any]:
        row["created_at"] = format_time(row["created_at"], current_zone())
        row.pop("metadata", None)
        return row

    def merge(self, batch: RowBatch) -> bool:
        """Fold a burst's new lines into the tail, in memory (no query of our own)."""
        if self.paused:
            return True
        return self.table.merge_rows(batch.rows, self.filters())

    async def reload(self) -> None:
        if not self.paused:
            await self.table.refresh_first_page()


@ui.page("/logs")
async def logs_page(process: str | None = None, run: str | None = None) -> None:
    with frame("Logs", "/logs"):
        view = LogsView(process, run)
        # follow before the first read: a line committed in between is merged, not lost
        live.follow_rows("automation_logs", log_rows, view.merge, view.reload)
        await view.apply()  # a bad run id in the link: said at the field, no rows
