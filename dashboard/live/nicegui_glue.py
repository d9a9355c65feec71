"""NiceGUI side of the live bus: bindable state, a client-scoped watcher, the banner.

Pages follow the bus through `dashboard/components/live.py`; what lives here:
- `live`, a bindable dataclass (`connected`, `version`, `snapshot`) mirrored from the
  bus by `attach`, e.g. `ui.label().bind_text_from(live, 'version')`; NiceGUI drops
  the binding with the element;
- `watch_table('automation_logs', on_change)` inside a page: the callback runs
  `with client:` (so `ui.notify` and new elements land in that browser) and is
  unsubscribed when the client is deleted;
- `reconnecting_banner()`, shown while the bus is down.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from html import escape
from typing import Any

from nicegui import binding, context, ui
from nicegui.client import Client
from nicegui.slot import Slot

from dashboard.auth.open_pages import page_is_live
from dashboard.live.bus import LiveBus, Subscription
from dashboard.live.source import Change
from dashboard.runtime import get_runtime

BANNER_TEXT = "Reconnecting to live updates… figures may be out of date."


@binding.bindable_dataclass
class LiveState:
    """What every page binds to; one per process, updated by the bus."""

    connected: bool = False
    version: int = 0
    snapshot: Any = None


live = LiveState()


def get_bus() -> LiveBus[Any]:
    bus = get_runtime().services.get("live")
    if not isinstance(bus, LiveBus):
        raise RuntimeError(
            "the live bus is not running: start it with dashboard.live.service.start_live()"
        )
    return bus


def attach(bus: LiveBus[Any]) -> list[Subscription]:
    """Mirror the bus into `live` (called once per process by `start_live`)."""
    live.connected = bus.connected
    if bus.snapshot is not None:
        live.snapshot, live.version = bus.snapshot, bus.version

    def on_snapshot(snapshot: Any) -> None:
        live.snapshot = snapshot
        live.version = bus.version

    def on_status(connected: bool) -> None:
        live.connected = connected
        _follow_status(connected)

    return [bus.on_snapshot(on_snapshot), bus.on_status(on_status)]


def _client_scoped(
    subscribe: Callable[[Callable[[Any], None]], Subscription], callback: Any
) -> Subscription:
    client: Client = context.client
    subscription: Subscription | None = None

    def deliver(value: Any) -> None:
        if client.is_deleted:
            if subscription is not None:
                subscription.cancel()
            return
        if not page_is_live(client):  # its session ended: the reaper deletes it soon
            return
        with client:
            callback(value)

    subscription = subscribe(deliver)
    client.on_delete(subscription.cancel)
    return subscription


def watch_table(table: str, callback: Callable[[Change], object]) -> Subscription:
    """Inside a page: call `callback(change)` in this browser for each change of `table`."""
    bus = get_bus()
    return _client_scoped(lambda deliver: bus.subscribe(table, deliver), callback)


#: Quasar's own spinner markup (QSpinnerMat), so the banner needs no spinner element.
SPINNER = (
    '<svg class="q-spinner q-spinner-mat" width="1.5em" height="1.5em" viewBox="25 25 50 50">'
    '<circle class="path" cx="50" cy="50" r="20" fill="none" stroke="currentColor"'
    ' stroke-width="5" stroke-miterlimit="10"></circle></svg>'
)


#: Where each open page shows its banner (the slot and position it asked from), and the
#: banner while it is shown. Nothing is kept for a page once its client is gone.
_banner_places: weakref.WeakKeyDictionary[Client, tuple[Slot, int]] = weakref.WeakKeyDictionary()
_banners: weakref.WeakKeyDictionary[Client, ui.element] = weakref.WeakKeyDictionary()


def reconnecting_banner() -> None:
    """A banner shown here while the live subscription is down, gone once it is live again.

    The banner exists only while it is shown (one html element, spinner and text inside
    it): a hidden element on every open page would cost each page ~4.5 KB for nothing."""
    client, slot = context.client, context.slot
    _banner_places[client] = (slot, len(slot.children))
    if not live.connected:
        _show_banner(client)


def _show_banner(client: Client) -> None:
    slot, index = _banner_places[client]
    shown = _banners.get(client)
    if slot.parent.is_deleted or (shown is not None and not shown.is_deleted):
        return
    with slot:
        banner = ui.html(f"{SPINNER}<span>{escape(BANNER_TEXT)}</span>", sanitize=False)
    banner.classes("w-full flex items-center gap-2 px-4 py-2 bg-amber-800 text-white")
    banner.props('role=status aria-live=polite data-testid="reconnecting-banner"')
    _banners[client] = banner.move(target_index=index, target_slot=slot.name)


def _follow_status(connected: bool) -> None:
    """Show or remove the banner of every open page that asked for one."""
    for client in list(_banner_places):
        if client.is_deleted:
            continue
        if not connected:
            with client:
                _show_banner(client)
        elif (banner := _banners.pop(client, None)) is not None and not banner.is_deleted:
            banner.delete()
