"""The owner-email CSV import on `/businesses`: upload, see every line's outcome, import.

The dialog first runs the dry run (`contacts.edits.plan_import`) and lists each line
with what would change or its error; "Import" is offered only when no line has an
error, and writes all of it in one transaction (or nothing).
"""

from __future__ import annotations

from nicegui import ui
from nicegui.events import UploadEventArguments

from dashboard.components.guard import acting_admin
from dashboard.contacts.edits import (
    MAX_IMPORT_BYTES,
    ImportPlan,
    ImportRefused,
    apply_import,
    plan_import,
)
from dashboard.data.query import BackendError
from dashboard.outreach import get_provider
from dashboard.runtime import get_runtime

REPORT_LINES = 200


async def import_dialog() -> None:
    if await acting_admin() is None:
        return
    with ui.dialog() as dialog, ui.card().classes("w-[40rem] max-w-full"):
        ui.label("Import owner emails").classes("text-lg font-semibold")
        ui.label(
            "A CSV with a header: email, and place_id or uuid. Nothing is written until"
            " you press Import, and only if every line is good."
        ).classes("text-sm")
        report = ui.column().classes("w-full gap-1").mark("import-report")

        async def uploaded(e: UploadEventArguments) -> None:
            if await acting_admin() is None:
                return
            report.clear()
            try:
                text = await e.file.text()
                plan = await plan_import(get_runtime().db, text)
            except (ImportRefused, UnicodeDecodeError) as exc:
                with report:
                    ui.label(f"Cannot read the file: {exc}. Nothing was written.").classes(
                        "text-negative"
                    )
                return
            show_plan(report, plan, dialog)

        ui.upload(
            label="Choose a CSV file",
            on_upload=uploaded,
            auto_upload=True,
            max_file_size=MAX_IMPORT_BYTES,
        ).props("accept=.csv,text/csv").classes("w-full").mark("import-upload")
        ui.button("Close", on_click=dialog.close).props("flat no-caps")
    dialog.open()


def show_plan(report: ui.column, plan: ImportPlan, dialog: ui.dialog) -> None:
    with report:
        summary = f"{len(plan.changes)} to change, {len(plan.errors)} with errors"
        ui.label(summary).classes("font-semibold").mark("import-summary")
        for line in plan.report()[:REPORT_LINES]:
            ui.label(line).classes("text-sm break-all")
        if len(plan.lines) > REPORT_LINES:
            ui.label(f"... and {len(plan.lines) - REPORT_LINES} more lines").classes("text-sm")
        if plan.errors:
            ui.label("Fix the lines with errors and upload again: nothing was written.").classes(
                "text-negative"
            )
            return

        async def write() -> None:
            if (actor := await acting_admin()) is None:
                return
            runtime = get_runtime()
            try:
                written = await apply_import(
                    runtime.db, runtime.api, get_provider(runtime), actor.caller(), plan
                )
            except (ImportRefused, BackendError, LookupError) as exc:
                ui.notify(f"Nothing was written: {exc}", type="negative")
                return
            started = sum(1 for s in written.started if s.outcome == "started")
            ui.notify(f"{written.changed} email(s) written; outreach started for {started}.",
                      type="positive")  # fmt: skip
            dialog.close()

        if plan.changes:
            ui.button(f"Import {len(plan.changes)} email(s)", on_click=write).props("no-caps").mark(
                "import-apply"
            )
