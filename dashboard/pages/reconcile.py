"""`/reconcile`: where money and outreach disagree (dashboard.payments.reconcile), each
mismatch with its one-click fix, grouped by kind with a count. A fix re-checks the
admin's session when clicked, runs the same idempotent code the webhooks run, and is
written to the audit log (`reconcile_fix`) by `fix()` itself. A fix that changed
nothing says so (never "done"), and a double payment says how to refund it in Stripe.

The list is re-read when the page opens, after each fix, on "Check again" and every
`RECHECK_SECONDS` (its windows are about time as much as about changes), never once
per live burst per browser.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable

from nicegui import ui

from dashboard.components import live
from dashboard.components.frame import current_zone, frame, path_prefix
from dashboard.components.guard import acting_admin
from dashboard.components.status import badge_classes
from dashboard.components.timefmt import format_time
from dashboard.payments import reconcile
from dashboard.payments.reconcile import (
    TITLES,
    Finding,
    Kind,
    fix,
    fix_message,
    list_mismatches,
)
from dashboard.runtime import get_runtime

log = logging.getLogger(__name__)
RECHECK_SECONDS = 30.0


@live.survives_refresh
async def apply_fix(finding: Finding, refresh: Callable[[], Awaitable[None]]) -> None:
    """Run one finding's fix as the signed-in admin, then show the list as it is now."""
    if (actor := await acting_admin()) is None:
        return
    try:
        result = await fix(get_runtime().api, finding, actor)
    except Exception as exc:  # a provider or the database refused: say so, keep the page
        log.exception("reconcile fix %s:%s failed", finding.kind, finding.subject)
        ui.notify(f"{finding.fix_label} failed for {finding.subject}: {exc}", type="negative")
    else:
        told, changed = fix_message(finding, result)
        ui.notify(told, type="positive" if changed else "warning", multi_line=True)
    await refresh()


def partial_text(kind: Kind) -> str:
    return (
        f"{TITLES[kind]}: more than {reconcile.LIMIT} found; the oldest are listed. Fix these"
        " and the next appear, or run `cliftonsites reconcile --fix` to fix them all."
    )


def finding_card(finding: Finding, refresh: Callable[[], Awaitable[None]]) -> None:
    with ui.card().classes("w-full").mark(f"finding-{finding.kind}-{finding.subject}"):
        with ui.row().classes("w-full items-center gap-3 flex-wrap"):
            ui.badge(finding.title).classes(badge_classes("failed"))
            if finding.business_id is not None:
                ui.link(
                    finding.subject, f"{path_prefix()}/businesses/{finding.business_id}"
                ).classes("font-mono").mark(f"business-link-{finding.subject}")
            else:
                ui.label(finding.subject).classes("font-mono")
            ui.space()
            ui.button(finding.fix_label, on_click=lambda: apply_fix(finding, refresh)).props(
                "no-caps"
            ).mark(f"fix-{finding.kind}-{finding.subject}")
        ui.label(finding.detail).classes("text-sm")
        if finding.since is not None:
            ui.label(f"since {format_time(finding.since, current_zone())}").classes(
                "text-xs text-gray-500"
            )


@ui.page("/reconcile")
async def reconcile_page() -> None:
    with frame("Reconciliation", "/reconcile"):

        @ui.refreshable
        async def body() -> None:
            more: set[Kind] = set()
            findings = await list_mismatches(get_runtime().api, more=more)
            if not findings:
                ui.label("Nothing to reconcile: payments, sites and outreach agree.").mark(
                    "reconcile-clean"
                )
            for kind in sorted(more):
                ui.label(partial_text(kind)).classes("text-sm font-semibold").mark(
                    f"partial-{kind}"
                )
            counts = Counter(finding.kind for finding in findings)
            for kind, count in counts.items():
                more_text = "+" if kind in more else ""
                ui.label(f"{TITLES[kind]}: {count}{more_text}").classes(
                    "text-base font-semibold"
                ).mark(f"count-{kind}")
                for finding in (f for f in findings if f.kind == kind):
                    finding_card(finding, body.refresh)

        with ui.row().classes("items-center gap-2"):
            ui.label("Paid but still emailed, deployed but never emailed, paid but not live,"
                     " and Stripe events that failed.").classes("text-sm")  # fmt: skip
            ui.button("Check again", icon="refresh", on_click=lambda: body.refresh()).props(
                "flat no-caps"
            )
        await body()
        # Not at once as well: the list was just read, and a refresh empties it while it reads.
        ui.timer(RECHECK_SECONDS, body.refresh, immediate=False)
