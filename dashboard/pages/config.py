"""`/config`: the typed automation settings form. Its checks mirror the database's
CHECK constraints (supabase/migrations/..._create_tables.sql), errors show at the
field, and nothing is sent until every field is valid. Saving goes through
`actions.automation.change_config`, whose SQL function audits the before and after
values; turning a process off first says what it stops and asks for a fresh code, and a
cancelled or refused code puts the form back to the saved values. Each field says what
it does, its default and its range; numbers show as typed (`0.2`, not `0.200`). A save
made elsewhere shows up live in every field the admin has not edited.

`tests/pages/test_pages_businesses.py` checks each field's default against the column's."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from nicegui import ui

from dashboard.actions.automation import (
    SWITCHES,
    ActionCancelled,
    ActionRefused,
    FreshCodeRefused,
    change_config,
    switches_turned_off,
)
from dashboard.components import live
from dashboard.components.frame import current_zone, frame
from dashboard.components.guard import acting_admin, code_from_dialog
from dashboard.components.timefmt import format_time
from dashboard.data.automation import get_automation_config
from dashboard.data.models import AutomationConfig
from dashboard.data.queue import get_queue_statistics
from dashboard.runtime import get_runtime


@dataclass(frozen=True)
class NumberField:
    key: str
    label: str
    low: Decimal
    high: Decimal
    decimals: int = 0
    unit: str = ""
    #: what the setting does, in the page's words, and its default (the column's)
    meaning: str = ""
    default: Decimal = Decimal(0)

    def hint(self) -> str:
        return (
            f"{self.meaning} Default {plain(self.default)}{self.unit};"
            f" {self.low:,} to {self.high:,}."
        )

    def parse(self, text: str | None) -> int | float:
        """The typed value, or ValueError saying what to type instead."""
        raw = (text or "").strip().replace(",", "").replace("_", "")
        kind = (
            "a whole number" if self.decimals == 0 else f"a number (up to {self.decimals} decimals)"
        )
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise ValueError(f"Enter {kind} from {self.low} to {self.high}") from None
        if not value.is_finite() or value != value.quantize(Decimal(1).scaleb(-self.decimals)):
            raise ValueError(f"Enter {kind} from {self.low} to {self.high}")
        if not self.low <= value <= self.high:
            raise ValueError(f"Must be from {self.low:,} to {self.high:,}{self.unit}")
        return int(value) if self.decimals == 0 else float(value)

    def error(self, text: str | None) -> str | None:
        try:
            self.parse(text)
        except ValueError as exc:
            return str(exc)
        return None


def plain(value: object) -> str:
    """A number as people type it: `10`, `0.2`, `1.5` (no `10.0`, `0.200`, `1E+1`)."""
    number = Decimal(str(value))
    return f"{number.normalize():f}" if number != number.to_integral() else f"{int(number)}"


FIELDS = (
    NumberField("batch_size", "Batch size", Decimal(1), Decimal(1000),
                meaning="Businesses a worker takes from the queue at a time.",
                default=Decimal(10)),
    NumberField("max_attempts", "Max attempts", Decimal(1), Decimal(20),
                meaning="Builds tried per business before it is marked failed.",
                default=Decimal(3)),
    NumberField("stale_after_minutes", "Stale after", Decimal(1), Decimal(1440), unit=" minutes",
                meaning="A business started longer ago than this goes back to the queue.",
                default=Decimal(15)),
    NumberField("daily_deploy_limit", "Daily deploy limit", Decimal(0), Decimal(10_000_000),
                meaning="Sites deployed per UTC day; at the limit implementation pauses.",
                default=Decimal(500)),
    NumberField("heartbeat_stale_seconds", "Heartbeat stale after", Decimal(5), Decimal(3600),
                unit=" seconds", meaning="A worker silent this long is shown stale.",
                default=Decimal(60)),
    NumberField("outreach_sweep_minutes", "Outreach sweep every", Decimal(1), Decimal(1440),
                unit=" minutes",
                meaning="How often deployed sites that outreach missed are swept up.",
                default=Decimal(1)),
    NumberField("bounce_rate_limit", "Bounce rate limit (0-1)", Decimal(0), Decimal(1), 3,
                meaning="Implementation pauses when more of the last 7 days' outreach bounces.",
                default=Decimal("0.2")),
    NumberField("provider_failure_limit", "Provider failure limit", Decimal(1), Decimal(1000),
                meaning="Failures in a row of one provider before its process pauses.",
                default=Decimal(5)),
    NumberField("pace_seconds", "Pace between items", Decimal(0), Decimal(3600), 2, " seconds",
                meaning="A pause the worker takes between two businesses.",
                default=Decimal(0)),
)  # fmt: skip


def changed_values(config: AutomationConfig, values: dict[str, Any]) -> dict[str, Any]:
    """Only the keys whose value differs from the saved row."""
    return {k: v for k, v in values.items() if getattr(config, k) != v}


async def disabling_impact(keys: list[str]) -> str:
    queue = await get_queue_statistics(get_runtime().api)
    lines = []
    for key in keys:
        process = key.removesuffix("_enabled")
        if process == "implementation":
            lines.append(f"Implementation: no new claims; {queue.counts.queued:,} queued wait.")
        elif process == "identification":
            lines.append("Identification: no new businesses are searched for.")
        else:
            lines.append("Outreach: deployed businesses get no new campaigns.")
    return "\n".join(lines)


class ConfigForm:
    def __init__(self, config: AutomationConfig) -> None:
        self.config = config
        self.switches = {
            k: ui.switch(k.replace("_", " "), value=getattr(config, k)).mark(k) for k in SWITCHES
        }
        self.inputs: dict[str, ui.input] = {}
        with ui.grid().classes("w-full grid-cols-1 md:grid-cols-2 xl:grid-cols-3 gap-4"):
            for field in FIELDS:
                element = ui.input(
                    field.label, value=plain(getattr(config, field.key)), validation=field.error
                ).props("inputmode=decimal")
                # the unit beside the value; what it does, its default and range under it
                element.props["hint"] = field.hint()
                if field.unit:
                    element.props["suffix"] = field.unit.strip()
                self.inputs[field.key] = element.mark(field.key)
        with ui.row().classes("items-center gap-4"):
            ui.button("Save", icon="save", on_click=self.save).mark("config-save")
            self.status = ui.label(self._saved_text()).classes("text-sm text-gray-500")

    def follow(self, config: AutomationConfig) -> None:
        """A save made elsewhere: fields the admin has not edited show the new values;
        edited ones keep the admin's value (a save sends only what differs)."""
        if config.updated_at == self.config.updated_at:
            return
        before, self.config = self.config, config
        kept = []
        for key, switch in self.switches.items():
            if bool(switch.value) == getattr(before, key):
                switch.value = getattr(config, key)
            elif getattr(config, key) != getattr(before, key):
                kept.append(key)
        for key, element in self.inputs.items():
            if (element.value or "").strip() == plain(getattr(before, key)):
                element.value = plain(getattr(config, key))
            elif getattr(config, key) != getattr(before, key):
                kept.append(key)
        self.status.text = self._saved_text()
        by = config.updated_by or "someone"
        if kept:
            ui.notify(
                f"{by} changed the config; your unsaved edits to {', '.join(kept)} are kept.",
                type="warning",
            )

    def put_back(self) -> None:
        """Show the saved values again (after a save that did not happen)."""
        for key, switch in self.switches.items():
            switch.value = getattr(self.config, key)
        for key, element in self.inputs.items():
            element.value = plain(getattr(self.config, key))
            element.error = None

    def _saved_text(self) -> str:
        by = self.config.updated_by or "—"
        return f"Last saved {format_time(self.config.updated_at, current_zone())} by {by}"

    def values(self) -> dict[str, Any] | None:
        """Every field parsed, or None when any is invalid (each shows its error)."""
        valid = all([el.validate() for el in self.inputs.values()])
        if not valid:
            return None
        values: dict[str, Any] = {k: bool(s.value) for k, s in self.switches.items()}
        for field in FIELDS:
            values[field.key] = field.parse(self.inputs[field.key].value)
        return values

    async def save(self) -> None:
        if (actor := await acting_admin()) is None:
            return
        values = self.values()
        if values is None:
            ui.notify("Fix the fields marked in red: nothing was saved.", type="negative")
            return
        changes = changed_values(self.config, values)
        if not changes:
            ui.notify("Nothing changed.")
            return
        disabling = switches_turned_off(changes)
        ask = code_from_dialog("Turn off automation?", lambda: disabling_impact(disabling))
        try:
            self.config = await change_config(actor, changes, fresh_code=ask)
        except (ActionCancelled, FreshCodeRefused):
            self.put_back()
            ui.notify("Not saved: the form shows the saved values again.", type="warning")
            return
        except ActionRefused as exc:
            self.show_refusal(exc.message)
            return
        self.status.text = self._saved_text()
        ui.notify(f"Saved {', '.join(sorted(changes))}", type="positive")

    def show_refusal(self, message: str) -> None:
        """The database names the key it refused: put the message at that field."""
        for key, element in self.inputs.items():
            if key in message:
                element.error = message
        ui.notify(f"Not saved: {message}", type="negative")


@ui.page("/config")
async def config_page() -> None:
    with frame("Config", "/config"):
        form = ConfigForm(await get_automation_config(get_runtime().api))

        async def follow() -> None:
            form.follow(await get_automation_config(get_runtime().api))

        live.watch(["automation_config"], follow)
