"""`/system`: read-only view of the database behind the app.

The doctor's findings (refreshed every 30 s and on demand), then each table with its
row count, RLS and policies; each function with its security mode, search_path and
who may execute it; each trigger, each view, and index sizes and usage; the server
version and how the app is connected. Nothing here writes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from nicegui import ui

from dashboard.components.frame import frame
from dashboard.ops.catalog import Catalog
from dashboard.ops.doctor import Report, run_doctor
from dashboard.ops.finding import Finding
from dashboard.ops.render import safe_url
from dashboard.runtime import get_runtime

REFRESH_SECONDS = 30.0
CONNECTION = {
    "embedded": "embedded PostgreSQL (DATA_DIR)",
    "url": "DATABASE_URL",
    "supabase": "Supabase project (connection string + API)",
}


def size(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def table_rows(cat: Catalog) -> list[dict[str, Any]]:
    return [
        {
            "name": t.name,
            "rows": f"≈ {t.rows:,}" if t.estimated else f"{t.rows:,}",
            "size": size(t.size_bytes),
            "rls": "on" if t.rls else "OFF",
            "policies": "; ".join(
                f"{p.name} ({p.command} to {', '.join(p.roles)}"
                f"{'' if p.permissive else ', restrictive'})"
                for p in t.policies
            )
            or "none",
        }
        for t in cat.tables.values()
    ]


def function_rows(cat: Catalog) -> list[dict[str, Any]]:
    return [
        {
            "name": f.signature.removeprefix("public."),
            "kind": "trigger" if f.is_trigger else "rpc",
            "security": "DEFINER" if f.security_definer else "invoker",
            "search_path": _search_path(f.search_path),
            "execute": ", ".join(f.executors) or "owner only",
        }
        for f in cat.functions.values()
    ]


def _search_path(value: str | None) -> str:
    if value is None:
        return "MUTABLE"
    return "'' (empty)" if value in ('""', "''", "") else value


def trigger_rows(cat: Catalog) -> list[dict[str, Any]]:
    return [
        {"table": t.table, "name": t.name, "enabled": "yes" if t.enabled else "DISABLED",
         "function": t.function}
        for t in cat.triggers
    ]  # fmt: skip


def view_rows(cat: Catalog) -> list[dict[str, Any]]:
    return [
        {"name": v.name, "security_invoker": "yes" if v.security_invoker else "NO",
         "options": ", ".join(v.options) or "-"}
        for v in cat.views.values()
    ]  # fmt: skip


def index_rows(cat: Catalog) -> list[dict[str, Any]]:
    return [
        {"table": f"{i.schema}.{i.table}", "name": i.name, "size": size(i.size_bytes),
         "scans": f"{i.scans:,}", "valid": "yes" if i.valid else "INVALID"}
        for i in sorted(cat.indexes, key=lambda i: -i.size_bytes)
    ]  # fmt: skip


def _grid(rows: list[dict[str, Any]], marker: str) -> None:
    """A compact table; each row's `key` (unique) is not shown."""
    fields = [k for k in rows[0] if k != "key"]
    columns = [
        {"name": k, "label": k.replace("_", " "), "field": k, "align": "left"} for k in fields
    ]
    for i, row in enumerate(rows):
        row["key"] = i
    grid = ui.table(columns=columns, rows=rows, row_key="key")
    grid.props("dense flat wrap-cells").classes("w-full").mark(marker)


def _finding(f: Finding) -> None:
    icon, color = ("error", "negative") if f.severity == "fail" else ("warning", "warning")
    with ui.row().classes("w-full items-start no-wrap gap-2"):
        ui.icon(icon, color=color).classes("mt-1 shrink-0")
        with ui.column().classes("gap-0 w-full min-w-0"):
            ui.label(f"{f.check}: {f.problem}").classes("font-medium")
            ui.label(f"Why: {f.why}").classes("text-sm opacity-80")
            ui.code(f.fix, language="sql").classes("w-full text-xs")


def _doctor(report: Report) -> None:
    if not report.findings:
        ui.label("All checks passed").classes("text-positive font-medium").mark("doctor-ok")
    for f in report.findings:
        _finding(f)
    with ui.column().classes("gap-0"):
        for check, verified in report.passed.items():
            # no-wrap: on a phone the icon stays beside its text, the text wraps
            with ui.row().classes("items-start gap-2 no-wrap"):
                ui.icon("check_circle", color="positive").classes("shrink-0")
                ui.label(f"{check}: {verified}").classes("text-sm min-w-0 break-words")


@ui.page("/system")
async def system_page() -> None:
    runtime = get_runtime()
    with frame("System", "/system"):
        ui.label("Read-only: what the database holds, checked against the schema.").classes(
            "opacity-70"
        )

        @ui.refreshable
        async def body() -> None:
            try:
                report, cat = await asyncio.to_thread(run_doctor, runtime.database_url)
            except Exception as exc:
                ui.label(f"Could not read the database: {exc}").classes("text-negative")
                return
            mode = CONNECTION.get(runtime.mode, runtime.mode)
            ui.label(
                f"PostgreSQL {cat.server_version} · connected through {mode}"
                f" · {safe_url(runtime.database_url)}"
            ).classes("text-sm").mark("system-server")
            with ui.card().classes("w-full"):
                ui.label("Doctor").classes("text-lg font-semibold")
                _doctor(report)
            for title, rows, marker in (
                ("Tables", table_rows(cat), "system-tables"),
                ("Functions", function_rows(cat), "system-functions"),
                ("Triggers", trigger_rows(cat), "system-triggers"),
                ("Views", view_rows(cat), "system-views"),
                ("Indexes", index_rows(cat), "system-indexes"),
            ):
                ui.label(title).classes("text-lg font-semibold mt-2")
                if rows:
                    _grid(rows, marker)
                else:
                    ui.label("none").classes("opacity-70")

        ui.button("Refresh now", icon="refresh", on_click=body.refresh).props("flat").mark(
            "system-refresh"
        )
        await body()
        ui.timer(REFRESH_SECONDS, body.refresh)
