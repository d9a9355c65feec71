"""`/businesses`: search over both business tables (search_businesses, keyset by id,
fast at a million rows), the "needs contact" filter (deployed sites with no owner email),
CSV export, the owner-email CSV import (pages/contacts_import.py), and bulk requeue of
failed businesses (which needs a fresh code). A business's own page is
dashboard/pages/business_detail.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, get_args
from urllib.parse import urlencode

from nicegui import ui
from nicegui.events import GenericEventArguments

from dashboard.actions.automation import ActionCancelled, FreshCodeRefused
from dashboard.actions.businesses import requeue_failed
from dashboard.components import live
from dashboard.components.frame import current_zone, frame, path_prefix
from dashboard.components.guard import acting_admin, code_from_dialog
from dashboard.components.table import ServerTable, column
from dashboard.components.timefmt import format_time
from dashboard.data.businesses import count_with_status
from dashboard.data.contacts import needs_contact
from dashboard.data.models import CountedRows, SearchStatus
from dashboard.data.overview import search_businesses_page
from dashboard.data.query import BackendError
from dashboard.pages.contacts_import import import_dialog
from dashboard.runtime import get_runtime

MAX_QUERY = 200
#: A search cannot be shared between browsers: each open page re-runs it at most this often.
SEARCH_REFRESH_SECONDS = 2.0
#: Key columns first (a phone shows those without scrolling): the name links to the
#: business's page, states are status badges.
COLUMNS = [
    column("name", "Name"),
    column("status", "Status"),
    column("city", "City"),
    column("category", "Category"),
    column("site_status", "Site status"),
    column("outreach_status", "Outreach"),
    column("claimed", "Paid"),
    column("attempts", "Attempts", align="right"),
    column("created_at", "Found", classes="whitespace-nowrap"),
    column("uuid", "Site"),
    column("id", "Id"),
]
STATE_COLUMNS = ("status", "site_status", "outreach_status")


async def bulk_requeue_failed() -> None:
    """Requeue every failed business after showing how many and a fresh code."""
    if (actor := await acting_admin()) is None:
        return
    count = await count_with_status(get_runtime().api, "failed")
    if count == 0:
        ui.notify("No failed businesses to requeue.")
        return

    async def impact() -> str:
        return f"{count:,} failed business(es) go back to the queue with their attempts reset."

    ask = code_from_dialog("Requeue failed businesses?", impact)
    working: list[ui.notification] = []

    async def then_say_working(what: str) -> None:
        await ask(what)
        # one transaction with its audit row: a second or so per 50,000 rows, so say so
        working.append(
            ui.notification(f"Requeuing {count:,} failed business(es)…", spinner=True, timeout=None)
        )

    try:
        moved = await requeue_failed(actor, count, fresh_code=then_say_working)
    except ActionCancelled:
        return
    except FreshCodeRefused:
        ui.notify("That code is wrong or already used: nothing was changed.", type="negative")
        return
    except BackendError as exc:
        if not working:  # the code's own check failed: the page's error report says so
            raise
        ui.notify(f"Nothing was requeued: {exc.message}", type="negative", multi_line=True)
        return
    finally:
        for notice in working:
            notice.dismiss()
    ui.notify(f"Requeued {moved:,} business(es).", type="positive")


class SearchView:
    def __init__(self) -> None:
        statuses: dict[str, str] = {"": "Any status", **{s: s for s in get_args(SearchStatus)}}
        with ui.row().classes("w-full items-start gap-2 flex-wrap"):
            self.query = ui.input("Name, city, site id or place id", validation=self._error)
            self.query.classes("w-80 max-w-full").on("keydown.enter", self.apply)
            self.query.mark("business-search")
            self.status = ui.select(statuses, value="", label="Status", on_change=self.apply)
            self.status.classes("w-40")
            self.needs_contact = ui.checkbox("Needs contact", on_change=self.apply)
            self.needs_contact.tooltip("Deployed, unpaid sites whose owner has no email yet")
            self.needs_contact.mark("needs-contact")
            ui.button("Search", icon="search", on_click=self.apply).props("no-caps")
            ui.space()
            ui.button("Import emails (CSV)…", icon="upload_file", on_click=import_dialog).props(
                "no-caps outline"
            ).mark("import-emails")
            ui.button("Requeue all failed…", color="negative", on_click=bulk_requeue_failed).mark(
                "requeue-all-failed"
            )
        self.search: str | None = None  # the text of the last search run
        prefix = path_prefix()
        self.table = ServerTable(
            COLUMNS,
            self.fetch,
            format_row=self.format_row,
            link=("name", lambda row: f"{prefix}/businesses/{int(row['id'])}"),
            states=STATE_COLUMNS,
        )
        self.table.table.on("rowClick", self.open)

    @staticmethod
    def _error(value: str) -> str | None:
        return f"Search at most {MAX_QUERY} characters" if len(value or "") > MAX_QUERY else None

    async def apply(self) -> None:
        if not self.query.validate():
            # the field says what is wrong; no rows of the last search stay under it
            self.table.hold("Fix the search above to see businesses.")
            return
        self.search = (self.query.value or "").strip() or None
        params = {"q": self.search or "", "status": self.status.value or ""}
        query = urlencode({k: v for k, v in params.items() if v})
        self.table.set_export_url(
            "/api/admin/export/businesses.csv" + (f"?{query}" if query else "")
        )
        await self.table.reload()

    async def fetch(
        self, before_id: int | None, limit: int
    ) -> Sequence[dict[str, Any]] | CountedRows:
        if self.needs_contact.value:
            found = await needs_contact(get_runtime().api, before_id, limit)
            return [{**r, "id": r["pipeline_business_id"], "status": "deployed",
                     "created_at": r["deployed_at"], "attempts": None} for r in found]  # fmt: skip
        page = await search_businesses_page(
            get_runtime().api,
            self.search,  # as last searched: text typed but not searched is not applied
            self.status.value or None,
            before_id,
            limit,
        )
        return CountedRows(rows=[row.model_dump() for row in page.rows], total=page.total)

    def format_row(self, row: dict[str, Any]) -> dict[str, Any]:
        row["created_at"] = format_time(row["created_at"], current_zone())
        row["claimed"] = {True: "yes", False: "no"}.get(row["claimed"], "")
        return {k: v for k, v in row.items() if k != "updated_at"}

    def open(self, e: GenericEventArguments) -> None:
        args = e.args if isinstance(e.args, list) else [e.args]
        row = next((a for a in args if isinstance(a, dict) and "id" in a), None)
        if row is not None:
            ui.navigate.to(f"/businesses/{int(row['id'])}")


@ui.page("/businesses")
async def businesses_page() -> None:
    with frame("Businesses", "/businesses"):
        view = SearchView()
        await view.apply()
        live.watch(
            ["pipeline_businesses", "qualified_businesses"],
            view.table.refresh_first_page,
            min_interval=SEARCH_REFRESH_SECONDS,
        )
