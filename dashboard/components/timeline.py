"""One timeline across a business's life: found, claims and attempts (its log lines),
deploy, outreach events, Stripe events and the claim, oldest first."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from nicegui import ui

from dashboard.components.timefmt import format_time

ICONS = {
    "pipeline": "travel_explore",
    "contact": "contact_mail",
    "log": "notes",
    "deploy": "rocket_launch",
    "outreach": "mail",
    "stripe": "payments",
}


@dataclass(frozen=True)
class Event:
    at: datetime
    kind: str
    title: str
    detail: str = ""


def business_events(
    pipeline: Mapping[str, Any],
    qualified: Mapping[str, Any] | None,
    logs: Sequence[Mapping[str, Any]],
    outreach: Sequence[Mapping[str, Any]],
    stripe: Sequence[Mapping[str, Any]],
) -> list[Event]:
    """Every dated fact about one business as events, oldest first."""
    events = [Event(pipeline["created_at"], "pipeline", "Identified", pipeline["place_id"])]
    events.append(contact_event(pipeline))
    if pipeline.get("started_at"):
        events.append(
            Event(
                pipeline["started_at"],
                "pipeline",
                f"Claimed (attempt {pipeline['attempts']})",
                str(pipeline.get("claimed_by") or ""),
            )
        )
    if pipeline.get("finished_at"):
        events.append(
            Event(
                pipeline["finished_at"],
                "pipeline",
                f"Finished: {pipeline['status']}",
                str(pipeline.get("last_error") or ""),
            )
        )
    for log in logs:
        events.append(
            Event(log["created_at"], "log", f"{log['process']} {log['level']}", str(log["message"]))
        )
    if qualified:
        events.append(
            Event(
                qualified["deployed_at"], "deploy", "Site deployed", str(qualified["preview_url"])
            )
        )
        for key, title in (
            ("activated_at", "Site activated"),
            ("claimed_at", "Claimed (paid)"),
            ("outreach_started_at", "Outreach started"),
        ):
            if qualified.get(key):
                events.append(Event(qualified[key], "deploy", title))
    for ev in outreach:
        at = ev.get("occurred_at") or ev["received_at"]
        events.append(Event(at, "outreach", str(ev["event_type"]), str(ev["provider"])))
    for ev in stripe:
        at = ev.get("created") or ev["received_at"]
        events.append(Event(at, "stripe", str(ev["type"]), f"{ev['id']} ({ev['status']})"))
    return sorted(events, key=lambda e: e.at)


def contact_event(pipeline: Mapping[str, Any]) -> Event:
    """The contact step's answer, at the time the business was found (a later edit by
    hand or by import has its own log line)."""
    if pipeline.get("email"):
        source = pipeline.get("email_source") or "unknown source"
        return Event(
            pipeline["created_at"], "contact", "Owner email", f"{pipeline['email']} ({source})"
        )
    reason = pipeline.get("email_missing_reason") or "no reason recorded"
    return Event(pipeline["created_at"], "contact", "No owner email", str(reason))


def timeline(events: Sequence[Event], zone: ZoneInfo | None) -> None:
    with ui.timeline(side="right").classes("w-full"):
        for event in events:
            ui.timeline_entry(
                event.detail,
                title=event.title,
                subtitle=format_time(event.at, zone),
                icon=ICONS.get(event.kind, "circle"),
            )
