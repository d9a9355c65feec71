"""`/audit`: the admin audit log (logins, MFA events, commands, config changes,
business actions), newest first, filterable by action and actor, with CSV export."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from nicegui import ui

from dashboard.components import live
from dashboard.components.frame import current_zone, frame
from dashboard.components.table import ServerTable, column
from dashboard.components.timefmt import format_time
from dashboard.data.filters import audit_filters
from dashboard.data.history import fetch_keyset, rows_by_id
from dashboard.data.query import Filter
from dashboard.live.bus import RowBatch
from dashboard.runtime import get_runtime

ACTIONS = (
    "login", "login_failed", "mfa_enrolled", "mfa_verified", "mfa_failed", "step_up",
    "recovery_code_used", "logout", "command_sent", "config_updated", "business_requeued",
    "business_skipped", "businesses_requeued", "outreach_retried", "reconcile_fix",
    "session_ended", "sign_out_everywhere",
)  # fmt: skip
MAX_ACTOR = 200
COLUMNS = [
    column("created_at", "Time", classes="whitespace-nowrap"),
    column("actor_email", "Admin"),
    column("action", "Action"),
    column("target", "Target"),
    column("details", "Details"),
    column("ip", "Address"),
]


async def audit_rows(ids: list[Any]) -> list[dict[str, Any]]:
    """The audit rows of one burst (one query for all browsers).

    Module-level: the live bus shares one row feed per table."""
    return await rows_by_id(get_runtime().api, "admin_audit_log", ids)


def format_audit(row: dict[str, Any]) -> dict[str, Any]:
    row["created_at"] = format_time(row["created_at"], current_zone())
    row["details"] = json.dumps(row.get("details") or {}, default=str, sort_keys=True)[:500]
    row["ip"] = str(row["ip"]) if row.get("ip") else ""
    row["actor_id"] = str(row["actor_id"]) if row.get("actor_id") else ""
    return row


class AuditView:
    def __init__(self) -> None:
        with ui.row().classes("w-full items-start gap-2 flex-wrap"):
            self.action = ui.select(
                {"": "All actions", **{a: a for a in ACTIONS}},
                value="",
                label="Action",
                on_change=self.apply,
            ).classes("w-56")
            self.actor = ui.input("Admin email contains", validation=self._error)
            self.actor.classes("w-64").on("keydown.enter", self.apply).mark("audit-actor")
            ui.button("Filter", icon="filter_alt", on_click=self.apply).props("no-caps")
        self.table = ServerTable(COLUMNS, self.fetch, format_row=format_audit)

    @staticmethod
    def _error(value: str) -> str | None:
        return f"At most {MAX_ACTOR} characters" if len(value or "") > MAX_ACTOR else None

    def filters(self) -> list[Filter]:
        actor = (self.actor.value or "").strip() or None
        return audit_filters(self.action.value or None, actor)

    async def fetch(self, before_id: int | None, limit: int) -> Sequence[dict[str, Any]]:
        return await fetch_keyset(
            get_runtime().api, "admin_audit_log", self.filters(), before_id, limit
        )

    def merge(self, batch: RowBatch) -> bool:
        """Fold a burst's new audit rows into page 1 (no query of our own)."""
        try:
            filters = self.filters()
        except ValueError:  # an overlong filter is being typed: keep the last good view
            return True
        return self.table.merge_rows(batch.rows, filters)

    async def apply(self) -> None:
        if not self.actor.validate():
            return
        params = {"action": self.action.value or "", "actor": (self.actor.value or "").strip()}
        query = urlencode({k: v for k, v in params.items() if v})
        self.table.set_export_url("/api/admin/export/audit.csv" + (f"?{query}" if query else ""))
        await self.table.reload()


@ui.page("/audit")
async def audit_page() -> None:
    with frame("Audit log", "/audit"):
        view = AuditView()
        live.follow_rows("admin_audit_log", audit_rows, view.merge, view.table.refresh_first_page)
        await view.apply()
