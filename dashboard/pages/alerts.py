"""`/alerts`: what is firing, the rules (edited here, audited with before and after),
acknowledge and mute, where messages go, and the outbox with each delivery's state.

A signed link from an alert message (`?do=ack:<id>` or `?do=mute:<kind>:<hours>` with
`sig`) lands here after sign-in and asks for one click before it acts: a mail
scanner that follows links changes nothing. Bad input in a rule shows at its field
and saves nothing (`check_edit` checks every field before anything is written).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any

from nicegui import ui

from dashboard.alerts.delivery import destinations
from dashboard.alerts.messages import verify
from dashboard.alerts.rules import KINDS, SPECS, AlertRule, Kind, RuleEditError, check_edit
from dashboard.components.frame import frame
from dashboard.components.guard import acting_admin
from dashboard.components.ticking import since_html
from dashboard.data import alerts as store
from dashboard.data.alerts import AlertRow, OutboxRow
from dashboard.runtime import get_runtime

NUMBERS = (
    ("threshold", "Threshold"),
    ("window_minutes", "Window (minutes)"),
    ("for_minutes", "Must last (minutes)"),
    ("cooldown_minutes", "Cooldown (minutes)"),
    ("reminder_minutes", "Reminder every (minutes)"),
)
STATUS_COLOURS = {"firing": "negative", "resolved": "positive", "pending": "warning"}
MESSAGE_COLOURS = {"sent": "positive", "pending": "warning", "failed": "negative"}


def _now() -> datetime:
    return datetime.now(UTC)


def destinations_text() -> str:
    return destinations(get_runtime().settings)


def badge(text: str, colour: str) -> str:
    return f'<span class="q-badge bg-{colour}">{escape(text)}</span>'


def alert_row(alert: AlertRow) -> str:
    acked = f" · acknowledged by {escape(alert.acked_by or '—')}" if alert.acked_at else ""
    return (
        f'<div class="flex flex-wrap items-center gap-2 text-sm" data-alert="{alert.id}">'
        f"<span>#{alert.id}</span>{badge(alert.status, STATUS_COLOURS.get(alert.status, 'grey'))}"
        f'<span class="font-semibold">{escape(alert.title)}</span>'
        f'<span class="text-gray-500">{escape(alert.kind)} · since'
        f" {since_html(alert.condition_since)}{acked}</span></div>"
    )


def message_row(message: OutboxRow) -> str:
    state = badge(message.status, MESSAGE_COLOURS.get(message.status, "grey"))
    extra = f"attempts {message.attempts}"
    if message.status == "pending" and message.attempts:
        extra += f", next try at {message.next_attempt_at:%H:%M:%S} UTC"
    error = (
        f' <span class="text-red-600">{escape(message.last_error)}</span>'
        if message.last_error
        else ""
    )
    return (
        f'<div class="flex flex-wrap items-center gap-2 text-sm">{state}'
        f"<span>{escape(message.message)} · {escape(message.channel)}</span>"
        f"<span>{escape(message.subject)}</span>"
        f'<span class="text-gray-500">{extra}</span>{error}</div>'
    )


class RuleForm:
    """One rule's fields, its save button and its mute buttons."""

    def __init__(self, rule: AlertRule) -> None:
        self.rule = rule
        spec = SPECS[rule.kind]
        with ui.card().classes("w-full").mark(f"rule-{rule.kind}"):
            ui.label(spec.title).classes("text-lg font-semibold")
            ui.label(f"{rule.kind}: threshold is {spec.threshold}").classes("text-sm text-gray-500")
            self.muted = ui.label(self.muted_text()).classes("text-sm text-amber-700")
            self.enabled = ui.switch("enabled", value=rule.enabled).mark(f"{rule.kind}-enabled")
            self.inputs: dict[str, ui.input] = {}
            with ui.grid().classes("w-full grid-cols-1 md:grid-cols-3 xl:grid-cols-5 gap-2"):
                for key, label in NUMBERS:
                    value = getattr(rule, key)
                    text = f"{value:g}" if isinstance(value, float) else str(value)
                    box = ui.input(label, value=text).mark(f"{rule.kind}-{key}")
                    self.inputs[key] = box
            with ui.row().classes("items-center gap-4"):
                self.email = ui.checkbox("email", value="email" in rule.channels)
                self.email.mark(f"{rule.kind}-email")
                self.webhook = ui.checkbox("webhook", value="webhook" in rule.channels)
                self.webhook.mark(f"{rule.kind}-webhook")
                self.email_to = (
                    ui.input(
                        "Email to (comma-separated; empty = ALERT_EMAIL_TO)",
                        value=", ".join(rule.email_to),
                    )
                    .classes("grow")
                    .mark(f"{rule.kind}-email_to")
                )
            with ui.row().classes("items-center gap-2"):
                ui.button("Save", icon="save", on_click=self.save).mark(f"{rule.kind}-save")
                ui.button("Mute 1 h", on_click=lambda: self.mute(1)).props("flat")
                ui.button("Mute 24 h", on_click=lambda: self.mute(24)).props("flat")
                ui.button("Unmute", on_click=lambda: self.mute(0)).props("flat")

    def muted_text(self) -> str:
        until = self.rule.muted_until
        if until is None or until <= _now():
            return ""
        return f"Muted until {until:%Y-%m-%d %H:%M} UTC: alerts show here but send nothing."

    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = {"enabled": bool(self.enabled.value)}
        for key, _label in NUMBERS:
            values[key] = (self.inputs[key].value or "").strip()
        values["channels"] = [
            c for c, box in (("email", self.email), ("webhook", self.webhook)) if box.value
        ]
        raw = str(self.email_to.value or "")
        values["email_to"] = [a.strip() for a in raw.split(",") if a.strip()]
        return values

    def show_errors(self, errors: dict[str, str]) -> None:
        for key, box in self.inputs.items():
            box.error = errors.get(key)
        self.email_to.error = errors.get("email_to")

    async def save(self) -> None:
        if (actor := await acting_admin()) is None:
            return
        try:
            edit = check_edit(self.rule.kind, self.values())
        except RuleEditError as exc:
            self.show_errors(exc.errors)
            ui.notify("Fix the fields marked in red: nothing was saved.", type="negative")
            return
        self.show_errors({})
        self.rule = await store.update_rule(
            get_runtime().db, self.rule.kind, edit, (actor.id, actor.email), _now()
        )
        ui.notify(f"Saved rule {self.rule.kind}", type="positive")

    async def mute(self, hours: int) -> None:
        if (actor := await acting_admin()) is None:
            return
        now = _now()
        until = now + timedelta(hours=hours) if hours else None
        self.rule = await store.mute_rule(
            get_runtime().db, self.rule.kind, until, (actor.id, actor.email), now
        )
        self.muted.text = self.muted_text()
        ui.notify(f"Muted {self.rule.kind} for {hours} h" if hours else "Unmuted", type="info")


async def alerts_list(refresh: Callable[[], None]) -> None:
    """This page's alerts and outbox (redrawn by `refresh`, this page's own refreshable)."""
    db = get_runtime().db
    alerts = await store.recent_alerts(db, 30)
    body = "".join(alert_row(a) for a in alerts) or "<div>No alerts yet.</div>"
    ui.html(f'<div class="w-full flex flex-col gap-1">{body}</div>', sanitize=False).mark(
        "alerts-list"
    )
    for alert in alerts:
        if alert.status == "firing" and alert.acked_at is None:

            async def ack(alert_id: int = alert.id) -> None:
                await acknowledge(alert_id, refresh)

            ui.button(f"Acknowledge #{alert.id}", on_click=ack).props("dense flat").mark(
                f"ack-{alert.id}"
            )
    messages = await store.recent_messages(db, 20)
    ui.label("Outbox").classes("text-lg font-semibold mt-4")
    rows = "".join(message_row(m) for m in messages) or "<div>No messages yet.</div>"
    ui.html(f'<div class="w-full flex flex-col gap-1">{rows}</div>', sanitize=False).mark(
        "outbox-list"
    )


async def acknowledge(alert_id: int, refresh: Callable[[], None] | None = None) -> None:
    if (actor := await acting_admin()) is None:
        return
    done = await store.ack_alert(get_runtime().db, alert_id, (actor.id, actor.email), _now())
    ui.notify(f"Acknowledged #{alert_id}" if done else f"#{alert_id} is not firing any more")
    if refresh is not None:
        refresh()


def signed_action(action: str, sig: str) -> None:
    """The confirmation card of a link from a message; nothing happens until the click."""
    settings = get_runtime().settings
    parts = action.split(":")
    valid = verify(settings.secret_key, action, sig)
    with ui.card().classes("w-full bg-amber-50 dark:bg-amber-950").mark("signed-action"):
        if not valid:
            ui.label("This link is not valid (or was changed): nothing was done.")
            return
        if parts[0] == "ack" and len(parts) == 2 and parts[1].isdigit():
            alert_id = int(parts[1])
            ui.label(f"Acknowledge alert #{alert_id}? It sends no more reminders.")
            ui.button("Acknowledge", on_click=lambda: acknowledge(alert_id)).mark("confirm-link")
        elif parts[0] == "mute" and len(parts) == 3 and parts[1] in KINDS and parts[2].isdigit():
            kind: Kind = parts[1]
            hours = int(parts[2])

            async def mute() -> None:
                if (actor := await acting_admin()) is None:
                    return
                now = _now()
                await store.mute_rule(
                    get_runtime().db,
                    kind,
                    now + timedelta(hours=hours),
                    (actor.id, actor.email),
                    now,
                )
                ui.notify(f"Muted {kind} for {hours} h", type="info")

            ui.label(f"Mute rule {kind} for {hours} hour(s)?")
            ui.button("Mute", on_click=mute).mark("confirm-link")
        else:
            ui.label("This link asks for something unknown: nothing was done.")


@ui.page("/alerts")
async def alerts_page(do: str | None = None, sig: str | None = None) -> None:
    with frame("Alerts", "/alerts"):
        ui.label(destinations_text()).classes("text-sm").mark("alert-destinations")
        if do:
            signed_action(do, sig or "")
        listing = ui.refreshable(alerts_list)

        def redraw() -> None:
            listing.refresh()

        await listing(redraw)
        ui.timer(10.0, redraw, immediate=False)
        ui.label("Rules").classes("text-lg font-semibold mt-4")
        for rule in await store.list_rules(get_runtime().db):
            RuleForm(rule)
