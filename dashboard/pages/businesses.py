"""`/businesses`: search over both business tables (search_businesses, keyset by id,
fast at a million rows) and `/businesses/{id}`: one timeline across claim and
attempts, deploy, outreach and Stripe events, with the actions requeue, skip and
retry outreach. Bulk requeue of failed businesses needs a fresh code."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, get_args
from urllib.parse import urlencode

from nicegui import ui
from nicegui.events import GenericEventArguments

from dashboard.backends.base import BackendError, Filter, Order
from dashboard.components import live
from dashboard.components.confirm import ask_code
from dashboard.components.frame import current_zone, frame
from dashboard.components.guard import Actor, acting_admin, verify_step_up
from dashboard.components.table import ServerTable, column
from dashboard.components.timefmt import format_time
from dashboard.components.timeline import business_events, timeline
from dashboard.data.models import SearchStatus
from dashboard.data.outreach import set_outreach_status
from dashboard.data.overview import search_businesses
from dashboard.runtime import get_runtime

MAX_QUERY = 200
REQUEUE_FROM = ("failed", "skipped")
SKIP_FROM = ("queued", "failed")
RETRY_OUTREACH_FROM = ("failed", "stopped", "skipped", "bounced")
COLUMNS = [
    column("id", "Id"),
    column("uuid", "Site"),
    column("name", "Name"),
    column("category", "Category"),
    column("city", "City"),
    column("status", "Status"),
    column("site_status", "Site status"),
    column("outreach_status", "Outreach"),
    column("claimed", "Paid"),
    column("attempts", "Attempts", align="right"),
    column("created_at", "Found", classes="whitespace-nowrap"),
]
RESET = {"claimed_by": None, "claim_token": None, "started_at": None, "finished_at": None}


async def audit(actor: Actor, action: str, target: str, details: dict[str, Any]) -> None:
    await get_runtime().api.insert(
        "admin_audit_log",
        [
            {
                "actor_id": actor.id,
                "actor_email": actor.email,
                "action": action,
                "target": target,
                "details": details,
            }
        ],
    )


async def change_status(
    actor: Actor, business_id: int, new: str, allowed_from: Sequence[str], action: str
) -> str | None:
    """Move one business to `new` when its status allows; an error message otherwise."""
    values: dict[str, Any] = {"status": new, **(RESET if new == "queued" else {})}
    if new == "queued":
        values.update(attempts=0, last_error=None)
    rows = await get_runtime().api.update(
        "pipeline_businesses",
        values,
        filters=[Filter("id", "eq", business_id), Filter("status", "in", list(allowed_from))],
    )
    if not rows:
        return f"Only {' or '.join(allowed_from)} businesses can be {action}: nothing changed."
    details = {"before": {"status_in": list(allowed_from)}, "after": {"status": new}}
    await audit(actor, f"business_{action}", f"pipeline_businesses:{business_id}", details)
    return None


async def bulk_requeue_failed() -> None:
    """Requeue every failed business after showing how many and a fresh code."""
    if (actor := await acting_admin()) is None:
        return
    api = get_runtime().api
    count = (
        await api.select(
            "pipeline_businesses",
            columns="id",
            count=True,
            limit=0,
            filters=[Filter("status", "eq", "failed")],
        )
    ).count or 0
    if count == 0:
        ui.notify("No failed businesses to requeue.")
        return
    code = await ask_code(
        "Requeue failed businesses?",
        f"{count:,} failed business(es) go back to the queue with their attempts reset.",
    )
    if code is None:
        return
    if not await verify_step_up(code):
        ui.notify("That code is wrong or already used: nothing was changed.", type="negative")
        return
    values = {"status": "queued", "attempts": 0, "last_error": None, **RESET}
    rows = await api.update(
        "pipeline_businesses", values, filters=[Filter("status", "eq", "failed")]
    )
    details = {
        "before": {"status": "failed", "count": count},
        "after": {"status": "queued", "count": len(rows)},
    }
    await audit(actor, "businesses_requeued", "pipeline_businesses", details)
    ui.notify(f"Requeued {len(rows):,} business(es).", type="positive")


class SearchView:
    def __init__(self) -> None:
        statuses: dict[str, str] = {"": "Any status", **{s: s for s in get_args(SearchStatus)}}
        with ui.row().classes("w-full items-start gap-2 flex-wrap"):
            self.query = ui.input("Name, city, site id or place id", validation=self._error)
            self.query.classes("w-80 max-w-full").on("keydown.enter", self.apply)
            self.query.mark("business-search")
            self.status = ui.select(statuses, value="", label="Status", on_change=self.apply)
            self.status.classes("w-40")
            ui.button("Search", icon="search", on_click=self.apply).props("no-caps")
            ui.space()
            ui.button("Requeue all failed…", color="negative", on_click=bulk_requeue_failed)
        self.table = ServerTable(COLUMNS, self.fetch, format_row=self.format_row)
        self.table.table.on("rowClick", self.open)

    @staticmethod
    def _error(value: str) -> str | None:
        return f"Search at most {MAX_QUERY} characters" if len(value or "") > MAX_QUERY else None

    async def apply(self) -> None:
        if not self.query.validate():
            return
        params = {"q": (self.query.value or "").strip(), "status": self.status.value or ""}
        query = urlencode({k: v for k, v in params.items() if v})
        self.table.set_export_url(
            "/api/admin/export/businesses.csv" + (f"?{query}" if query else "")
        )
        await self.table.reload()

    async def fetch(self, before_id: int | None, limit: int) -> Sequence[dict[str, Any]]:
        rows = await search_businesses(
            get_runtime().api,
            (self.query.value or "").strip() or None,
            self.status.value or None,
            before_id,
            limit,
        )
        return [row.model_dump() for row in rows]

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
        live.watch(["pipeline_businesses", "qualified_businesses"], view.table.refresh_first_page)


async def load_business(business_id: int) -> dict[str, Any] | None:
    """Everything the detail page shows, read through the Backend protocol."""
    api = get_runtime().api
    by_id = [Filter("id", "eq", business_id)]
    pipeline = (await api.select("pipeline_businesses", filters=by_id)).rows
    if not pipeline:
        return None
    qualified = (
        await api.select(
            "qualified_businesses",
            limit=1,
            filters=[Filter("pipeline_business_id", "eq", business_id)],
        )
    ).rows
    q = qualified[0] if qualified else None
    logs = (
        await api.select(
            "automation_logs",
            order=[Order("id", desc=True)],
            limit=200,
            filters=[Filter("business_id", "eq", business_id)],
        )
    ).rows
    outreach: list[dict[str, Any]] = []
    stripe: list[dict[str, Any]] = []
    if q is not None:
        by_q = [Filter("qualified_business_id", "eq", q["id"])]
        outreach = (await api.select("outreach_events", filters=by_q, limit=500)).rows
        stripe = (await api.select("stripe_events", filters=by_q, limit=200)).rows
    return {
        "pipeline": pipeline[0],
        "qualified": q,
        "logs": logs,
        "outreach": outreach,
        "stripe": stripe,
    }


@live.survives_refresh
async def act(business_id: int, action: str) -> None:
    """Run one detail-page action as the signed-in admin and say what happened."""
    if (actor := await acting_admin()) is None:
        return
    try:
        if action == "retry_outreach":
            error = await retry_outreach(actor, business_id)
        elif action == "requeue":
            error = await change_status(actor, business_id, "queued", REQUEUE_FROM, "requeued")
        else:
            error = await change_status(actor, business_id, "skipped", SKIP_FROM, "skipped")
    except BackendError as exc:
        error = f"Refused: {exc.message}"
    if error:
        ui.notify(error, type="negative")
    else:
        ui.notify(f"Done: {action.replace('_', ' ')}", type="positive")


async def retry_outreach(actor: Actor, business_id: int) -> str | None:
    api = get_runtime().api
    rows = (
        await api.select(
            "qualified_businesses",
            columns="id,outreach_status",
            filters=[Filter("pipeline_business_id", "eq", business_id)],
        )
    ).rows
    if not rows:
        return "This business has no deployed site yet, so there is no outreach to retry."
    before = rows[0]["outreach_status"]
    if before not in RETRY_OUTREACH_FROM:
        return f"Outreach is {before}; only {', '.join(RETRY_OUTREACH_FROM)} can be retried."
    await set_outreach_status(api, int(rows[0]["id"]), "pending", caller=actor.caller())
    details = {"before": {"outreach_status": before}, "after": {"outreach_status": "pending"}}
    await audit(actor, "outreach_retried", f"qualified_businesses:{rows[0]['id']}", details)
    return None


@ui.page("/businesses/{business_id}")
async def business_page(business_id: str) -> None:
    with frame("Business", "/businesses"):
        if not business_id.isdigit():
            ui.label(f"{business_id!r} is not a business id: ids are whole numbers.")
            return
        bid = int(business_id)

        @ui.refreshable
        async def body() -> None:
            data = await load_business(bid)
            if data is None:
                ui.label(f"No business #{bid}. It may have been removed.")
                return
            render_business(bid, data)

        await body()
        live.watch(
            ["pipeline_businesses", "qualified_businesses", "outreach_events", "stripe_events"],
            body.refresh,
        )


def render_business(bid: int, data: dict[str, Any]) -> None:
    p, q = data["pipeline"], data["qualified"]
    zone = current_zone()
    with ui.row().classes("w-full items-center gap-3 flex-wrap"):
        ui.label(p["name"]).classes("text-xl font-semibold")
        ui.badge(p["status"])
        if q:
            ui.badge(f"site {q['site_status']}", color="info")
            ui.badge(f"outreach {q['outreach_status']}", color="secondary")
            ui.badge(
                "paid" if q["claimed"] else "unpaid", color="positive" if q["claimed"] else "grey"
            )
    with ui.row().classes("gap-2 flex-wrap"):
        for action, label in (
            ("requeue", "Requeue"),
            ("skip", "Skip"),
            ("retry_outreach", "Retry outreach"),
        ):
            ui.button(label, on_click=lambda _, a=action: act(bid, a)).props("no-caps").mark(
                f"business-{action}"
            )
    with ui.grid().classes("w-full grid-cols-1 lg:grid-cols-3 gap-4"):
        with ui.card().classes("w-full"):
            for key in (
                "id",
                "place_id",
                "category",
                "city",
                "region",
                "address",
                "phone",
                "email",
                "attempts",
                "claimed_by",
                "last_error",
            ):
                ui.label(f"{key}: {p.get(key) if p.get(key) is not None else '—'}").classes(
                    "text-sm"
                )
            if q:
                ui.link(f"site {q['uuid']}", q["preview_url"], new_tab=True)
                ui.label(f"payment: {q['stripe_payment_id'] or '—'}; {q['customer_email'] or ''}")
                ui.label(f"deployed {format_time(q['deployed_at'], zone)}").classes("text-sm")
        with ui.column().classes("lg:col-span-2 w-full"):
            ui.label("Timeline").classes("text-lg font-semibold")
            events = business_events(p, q, data["logs"], data["outreach"], data["stripe"])
            timeline(events, zone)
