"""What the health bar says: "all healthy", or one item per thing that is wrong, each
with the page where it is fixed.

Pure functions of the live snapshot, whether the live feed is connected, and the
alerts that are firing (kept per process in `HealthState`), so every open page
renders the same line from data the process already holds: no query per browser.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from dashboard.data.models import DashboardSnapshot

Level = Literal["error", "warning"]
#: The oldest queued business may wait this long before the bar names it (the alert
#: rule `queue_oldest` overrides it once the alert loop has read the rules).
DEFAULT_QUEUE_LIMIT_SECONDS = 24 * 3600.0
#: Alert kinds the snapshot cannot show by itself: the bar names these alerts.
ALERT_ONLY_KINDS = frozenset({"failure_spike", "webhooks_silent", "bounce_rate"})


@dataclass(frozen=True)
class ActiveAlert:
    """A firing alert, as the health bar needs it."""

    id: int
    kind: str
    title: str
    since: datetime


@dataclass(frozen=True)
class HealthItem:
    key: str
    level: Level
    text: str
    href: str
    since: datetime | None = None
    #: Words after the ticking age ("silent for 3m 02s").
    after: str = ""


def process_items(snapshot: DashboardSnapshot) -> list[HealthItem]:
    items: list[HealthItem] = []
    config = snapshot.config
    for status in snapshot.status:
        name = status.process
        if status.is_stale:
            if status.last_heartbeat_at is None:
                items.append(
                    HealthItem(
                        f"stale:{name}", "error", f"no {name} worker has reported", "/system"
                    )
                )
            else:
                items.append(
                    HealthItem(
                        f"stale:{name}",
                        "error",
                        f"{name} worker silent for",
                        "/system",
                        status.last_heartbeat_at,
                    )
                )
        if not getattr(config, f"{name}_enabled", True):
            items.append(HealthItem(f"disabled:{name}", "warning", f"{name} disabled", "/config"))
        elif status.desired_state == "stopped":
            items.append(HealthItem(f"stopped:{name}", "warning", f"{name} stopped", "/"))
        elif status.desired_state == "paused":
            reason = status.paused_reason or "by an admin"
            items.append(HealthItem(f"paused:{name}", "warning", f"{name} paused: {reason}", "/"))
    return items


def health_items(
    snapshot: DashboardSnapshot | None,
    *,
    live_connected: bool,
    firing: Sequence[ActiveAlert] = (),
    queue_limit_seconds: float = DEFAULT_QUEUE_LIMIT_SECONDS,
    now: datetime | None = None,
) -> list[HealthItem]:
    """Everything that is wrong, worst first; an empty list means all healthy."""
    items: list[HealthItem] = []
    if not live_connected:
        items.append(
            HealthItem("live", "error", "live feed down: figures may be out of date", "/system")
        )
    if snapshot is not None:
        items.extend(process_items(snapshot))
        oldest = snapshot.queue.oldest_queued_at
        now = now or datetime.now(UTC)
        if oldest is not None and (now - oldest).total_seconds() > queue_limit_seconds:
            items.append(
                HealthItem(
                    "queue", "warning", "oldest queued business waiting", "/businesses", oldest
                )
            )
    for alert in firing:
        if alert.kind in ALERT_ONLY_KINDS:
            items.append(
                HealthItem(
                    f"alert:{alert.id}", "error", alert.title, "/alerts", alert.since, " ago"
                )
            )
    if firing:
        count = len(firing)
        text = f"{count} alert{'s' if count != 1 else ''} firing"
        items.append(HealthItem("alerts", "error", text, "/alerts"))
    items.sort(key=lambda item: item.level != "error")
    return items


@dataclass
class HealthState:
    """The process's view of the alerts, updated by the alert loop; pages subscribe."""

    firing: tuple[ActiveAlert, ...] = ()
    queue_limit_seconds: float = DEFAULT_QUEUE_LIMIT_SECONDS
    version: int = 0
    _listeners: dict[int, Callable[[], Any]] = field(default_factory=dict)
    _next: int = 0

    def publish(self, firing: Sequence[ActiveAlert], queue_limit_seconds: float) -> None:
        firing = tuple(firing)
        if firing == self.firing and queue_limit_seconds == self.queue_limit_seconds:
            return
        self.firing, self.queue_limit_seconds = firing, queue_limit_seconds
        self.version += 1
        for listener in list(self._listeners.values()):
            with contextlib.suppress(Exception):
                listener()

    def subscribe(self, listener: Callable[[], Any]) -> Callable[[], None]:
        """Call `listener()` after every change; returns the function that unsubscribes."""
        self._next += 1
        key = self._next
        self._listeners[key] = listener
        return lambda: self._listeners.pop(key, None) and None


def get_health_state(services: dict[str, Any]) -> HealthState:
    state = services.get("health_state")
    if not isinstance(state, HealthState):
        state = services["health_state"] = HealthState()
    return state
