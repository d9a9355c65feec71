"""`/businesses/{id}`: one business: where it stands and why (dashboard.ops.why), its
facts, one timeline across identification, claim and attempts, deploy, outreach events
and Stripe events, and the actions requeue, skip and retry outreach
(dashboard/actions/businesses.py; each change is written with its audit row in one
transaction by dashboard/data/businesses.py)."""

from __future__ import annotations

import time
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from nicegui import ui

from dashboard.actions.businesses import (
    NO_SITE,
    change_status,
    outreach_refusal,
    retry_outreach,
    status_refusal,
)
from dashboard.api.site_host import site_url
from dashboard.components import live
from dashboard.components.cards import Facts
from dashboard.components.frame import current_zone, frame
from dashboard.components.guard import acting_admin
from dashboard.components.status import badge as status_badge
from dashboard.components.timefmt import format_time
from dashboard.components.timeline import business_events, timeline
from dashboard.contacts.edits import set_email_by_hand
from dashboard.contacts.email_check import InvalidEmail
from dashboard.data.businesses import ExplainUnavailable, business_detail, explain
from dashboard.data.query import BackendError
from dashboard.ops.why import BusinessNotFound
from dashboard.outreach import get_provider
from dashboard.runtime import get_runtime

WHY_SECONDS = 5.0
#: Notices do not say which business changed: re-read an open detail page at most this often.
DETAIL_REFRESH_SECONDS = 1.0
REQUEUE_FROM = ("failed", "skipped")
SKIP_FROM = ("queued", "failed")


async def load_business(business_id: int) -> dict[str, Any] | None:
    """Everything the detail page shows (dashboard.data.businesses)."""
    return await business_detail(get_runtime().api, business_id)


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


@live.survives_refresh
async def save_email(business_id: int, raw: str) -> None:
    """Set the owner email by hand: validated, audited, and outreach started if it was
    skipped for want of one (dashboard/contacts/edits.py)."""
    if (actor := await acting_admin()) is None:
        return
    runtime = get_runtime()
    try:
        written = await set_email_by_hand(
            runtime.db, runtime.api, get_provider(runtime), actor.caller(), business_id, raw
        )
    except InvalidEmail as exc:
        ui.notify(f"Not saved: {exc}.", type="negative")
        return
    except (BackendError, LookupError) as exc:
        ui.notify(f"Not saved: {getattr(exc, 'message', exc)}", type="negative")
        return
    started = [s for s in written.started if s.outcome == "started"]
    tail = "; outreach started" if started else ""
    ui.notify(f"Owner email saved{tail}.", type="positive")


def email_editor(business_id: int, current: str | None) -> None:
    with ui.row().classes("w-full items-center gap-2 flex-wrap").mark("owner-email-editor"):
        field = ui.input("Owner email", value=current or "").props("type=email dense outlined")
        field.classes("w-80 max-w-full").mark("owner-email")
        save = ui.button("Save email", on_click=lambda: save_email(business_id, field.value or ""))
        save.props("no-caps").mark("owner-email-save")
        field.on("keydown.enter", lambda: save_email(business_id, field.value or ""))


@ui.page("/businesses/{business_id}")
async def business_page(business_id: str) -> None:
    with frame("Business", "/businesses"):
        if not business_id.isdigit():
            ui.label(f"{business_id!r} is not a business id: ids are whole numbers.")
            return
        bid = int(business_id)
        why = WhyCache(bid)

        @ui.refreshable
        def body(data: dict[str, Any] | None, why_text: tuple[str, list[str]]) -> None:
            if data is None:
                ui.label(f"No business #{bid}. It may have been removed.")
                return
            render_business(bid, data, why_text)

        @ui.refreshable
        def details(data: dict[str, Any] | None) -> None:
            if data is not None:
                render_details(data)

        async def reload() -> None:
            # read first, then redraw in one step: the page never shows an empty body
            data = await load_business(bid)
            body.refresh(data, await why.text())
            details.refresh(data)

        first = await load_business(bid)
        body(first, await why.text())
        if first is not None:
            # between the two refreshables: a live redraw must not wipe what is being typed
            email_editor(bid, first["pipeline"].get("email"))
        details(first)
        live.watch(
            ["pipeline_businesses", "qualified_businesses", "outreach_events", "stripe_events"],
            reload,
            min_interval=DETAIL_REFRESH_SECONDS,
        )


class WhyCache:
    """The "why" of one business (dashboard.ops.why), re-read at most every WHY_SECONDS:
    a live refresh of the page redraws it without opening a connection each time."""

    def __init__(self, business_id: int) -> None:
        self.business_id = business_id
        self.read_at = -WHY_SECONDS
        self.value: tuple[str, list[str]] = ("", [])

    async def text(self) -> tuple[str, list[str]]:
        if time.monotonic() - self.read_at >= WHY_SECONDS:
            self.read_at = time.monotonic()
            try:
                found = await explain(get_runtime().database_url, self.business_id)
                self.value = (found.summary, found.details)
            except (BusinessNotFound, ExplainUnavailable) as exc:
                self.value = (f"Cannot explain this business right now: {exc}", [])
        return self.value


def why_card(summary: str, details: list[str]) -> None:
    with ui.card().classes("w-full bg-blue-50 dark:bg-slate-800").mark("business-why"):
        ui.label(f"Why: {summary}").classes("font-semibold")
        for line in details:
            ui.label(f"• {line}").classes("text-sm")


def business_facts(p: dict[str, Any], q: dict[str, Any] | None, zone: ZoneInfo | None) -> Facts:
    """The facts card: labels as an admin reads them, times in the page's zone, `—` for
    what is not known."""

    def text(value: Any) -> str:
        return "—" if value is None or value == "" else str(value)

    facts: Facts = [
        ("Id", text(p["id"])),
        ("Place id", text(p["place_id"])),
        ("Category", text(p["category"])),
        ("Location", f"{p['city']}, {p['region']}"),
        ("Address", text(p.get("address"))),
        ("Phone", text(p.get("phone"))),
        ("Email", text(p.get("email"))),
        ("Email from", text(p.get("email_source"))),
        *([("Why no email", text(p.get("email_missing_reason")))] if not p.get("email") else []),
        ("Priority", text(p.get("priority"))),
        ("Attempts", text(p.get("attempts"))),
        ("Claimed by", text(p.get("claimed_by"))),
        ("Found", format_time(p.get("created_at"), zone)),
        ("Started", format_time(p.get("started_at"), zone)),
        ("Finished", format_time(p.get("finished_at"), zone)),
        ("Last error", text(p.get("last_error"))),
    ]
    if q:
        facts += [
            ("Site", text(q["uuid"])),
            ("Deployed", format_time(q.get("deployed_at"), zone)),
            ("Payment", text(q.get("stripe_payment_id"))),
            ("Customer email", text(q.get("customer_email"))),
        ]
    return facts


def details_html(facts: Facts) -> str:
    """`label  value` rows, values left-aligned and wrapping (errors can be long)."""
    cells = "".join(
        f'<span class="text-gray-500">{escape(name)}</span>'
        f'<span class="break-words min-w-0">{escape(value)}</span>'
        for name, value in facts
    )
    grid = "display:grid;grid-template-columns:max-content minmax(0,1fr);gap:0.15rem 1rem"
    return f'<div class="w-full text-sm" style="{grid}">{cells}</div>'


def why_not(action: str, p: dict[str, Any], q: dict[str, Any] | None) -> str | None:
    """Why `action` does not apply to the business as shown, or None when it does."""
    if action == "requeue" and p["status"] not in REQUEUE_FROM:
        return f"{status_refusal(REQUEUE_FROM, 'requeued')}; this one is {p['status']}."
    if action == "skip" and p["status"] not in SKIP_FROM:
        return f"{status_refusal(SKIP_FROM, 'skipped')}; this one is {p['status']}."
    if action == "retry_outreach":
        if q is None:
            return NO_SITE
        return outreach_refusal(q["outreach_status"], bool(q.get("claimed")))
    return None


def render_business(bid: int, data: dict[str, Any], why: tuple[str, list[str]]) -> None:
    p, q = data["pipeline"], data["qualified"]
    with ui.row().classes("w-full items-center gap-3 flex-wrap"):
        ui.label(p["name"]).classes("text-xl font-semibold")
        badges = [status_badge(p["status"])]
        if q:
            badges.append(status_badge(q["site_status"], f"site {q['site_status']}"))
            outreach = str(q["outreach_status"])
            badges.append(status_badge(outreach, f"outreach {outreach}"))
            badges.append(status_badge("paid" if q["claimed"] else "unpaid"))
        ui.html("".join(badges), sanitize=False).classes("flex gap-2 flex-wrap")
    if q and q.get("review_reason"):
        # set by a refund, a dispute or a second payment (dashboard/payments)
        with ui.row().classes(
            "w-full items-center gap-2 px-4 py-2 rounded bg-amber-800 text-white"
        ):
            ui.icon("flag")
            ui.label(f"Needs review: {q['review_reason']}").mark("review-reason")
    why_card(*why)
    with ui.row().classes("gap-2 flex-wrap"):
        for action, label in (
            ("requeue", "Requeue"),
            ("skip", "Skip"),
            ("retry_outreach", "Retry outreach"),
        ):
            # the holder carries the reason's tooltip: not every browser sends mouse
            # events to a disabled button (today's Chromium does)
            with ui.element("span") as holder:
                button = ui.button(label, on_click=lambda _, a=action: act(bid, a))
            button.props("no-caps").mark(f"business-{action}")
            if (reason := why_not(action, p, q)) is not None:
                # greyed out with the reason on hover; the action checks again on click,
                # since the row may have changed since this page drew it
                button.disable()
                holder.tooltip(reason)


def render_details(data: dict[str, Any]) -> None:
    p, q = data["pipeline"], data["qualified"]
    zone = current_zone()
    with ui.grid().classes("w-full grid-cols-1 lg:grid-cols-3 gap-4"):
        with ui.card().classes("w-full"):
            ui.html(details_html(business_facts(p, q, zone))).mark("business-facts")
            if q and q["site_status"] == "suspended":
                ui.label(f"site {q['uuid']} is taken down (suspended)").mark("business-site")
            elif q:
                # the sites' own origin: a stored preview_url may be relative (seeded
                # rows), which the browser would resolve under /admin
                href = site_url(get_runtime().settings.sites_url, q["uuid"])
                ui.link(f"open site {q['uuid']}", href, new_tab=True).mark("business-site")
        with ui.column().classes("lg:col-span-2 w-full"):
            ui.label("Timeline").classes("text-lg font-semibold")
            events = business_events(p, q, data["logs"], data["outreach"], data["stripe"])
            timeline(events, zone)
