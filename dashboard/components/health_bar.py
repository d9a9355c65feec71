"""The health bar: one line under the header of every admin page, "All healthy" or
what is wrong, each item a link to the page where it is fixed.

It follows the live bus's snapshots, the bus's connection and the process's alert
state (`HealthState`), all of which the process already holds: the bar costs no query
per browser. The line is one escaped `ui.html` block, rendered once per change for
every open page (pages with the same mount prefix share the string), and it adds the
page's relative-time ticker (components/ticking.py), so its ages move every second.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any

from nicegui import Client, background_tasks, ui

from dashboard.components import live
from dashboard.components.ticking import TICKER_ID, server_ms, since_html, ticker_script
from dashboard.data.models import DashboardSnapshot
from dashboard.health.summary import HealthItem, HealthState, get_health_state, health_items
from dashboard.runtime import get_runtime

BAR = "w-full rounded px-3 py-1 flex flex-wrap items-center gap-x-3 gap-y-1 text-sm"
HEALTHY = "bg-green-100 text-green-900 dark:bg-green-900 dark:text-green-100"
UNHEALTHY = "bg-red-100 text-red-900 dark:bg-red-950 dark:text-red-100"
_cache: dict[str, tuple[tuple[Any, ...], str]] = {}


def item_html(item: HealthItem, prefix: str) -> str:
    mark = "●" if item.level == "error" else "▲"
    since = f" {since_html(item.since, suffix=item.after)}" if item.since is not None else ""
    return (
        f'<a class="underline text-inherit" data-testid="health-{escape(item.key)}"'
        f' href="{escape(prefix + item.href)}">{mark} {escape(item.text)}{since}</a>'
    )


def bar_html(items: list[HealthItem], prefix: str) -> str:
    if not items:
        body = '<span data-testid="health-ok">✓ All healthy</span>'
        return f'<div class="{BAR} {HEALTHY}">{body}</div>'
    links = "".join(item_html(item, prefix) for item in items)
    head = '<span class="font-semibold">Health:</span>'
    return f'<div class="{BAR} {UNHEALTHY}">{head}{links}</div>'


def _snapshot(value: Any) -> DashboardSnapshot | None:
    """The bus's last value as a snapshot; None when it holds none (yet)."""
    if isinstance(value, DashboardSnapshot):
        return value
    return DashboardSnapshot.model_validate(value) if isinstance(value, dict) else None


def render(snapshot: DashboardSnapshot | None, connected: bool, state: HealthState,
           prefix: str) -> str:  # fmt: skip
    """The bar's html, shared by every page showing the same inputs."""
    key = (id(snapshot), connected, state.version, prefix)
    found = _cache.get(prefix)
    if found is not None and found[0] == key:
        return found[1]
    items = health_items(
        snapshot,
        live_connected=connected,
        firing=state.firing,
        queue_limit_seconds=state.queue_limit_seconds,
        now=datetime.now(UTC),
    )
    content = bar_html(items, prefix)
    if len(_cache) > 64:
        _cache.clear()
    _cache[prefix] = (key, content)
    return content


def health_bar(prefix: str) -> None:
    """Draw this page's health bar and keep it current until the page goes away."""
    client = ui.context.client
    services = get_runtime().services
    state = get_health_state(services)
    bus = live.bus()
    if TICKER_ID not in Client.shared_head_html:  # once per process, for every page
        ui.add_head_html(ticker_script(), shared=True)
    held: list[DashboardSnapshot | None] = [_snapshot(getattr(bus, "snapshot", None))]

    def connected() -> bool:
        return bool(bus.connected) if bus is not None else True

    block = ui.html(render(held[0], connected(), state, prefix), sanitize=False)
    block.classes("w-full").mark("health-bar").props('role=status aria-label="Health"')
    block.props(f"data-server-ms={server_ms()}")

    def redraw() -> None:
        if client.is_deleted:
            return
        content = render(held[0], connected(), state, prefix)
        if content != block.content:
            block.set_content(content)

    def on_snapshot(snapshot: DashboardSnapshot) -> None:
        held[0] = snapshot
        redraw()

    live.on_snapshot(on_snapshot)
    subscriptions = [state.subscribe(redraw)]
    if bus is not None:
        status_sub = bus.on_status(lambda _connected: redraw())
        subscriptions.append(status_sub.cancel)
    client.on_delete(lambda: [cancel() for cancel in subscriptions])
    if held[0] is None:

        async def first() -> None:
            try:
                held[0] = await live.current_snapshot()
            except ValueError:  # the bus carries no dashboard snapshot (a test bus)
                return
            redraw()

        background_tasks.create(first(), name="health bar first snapshot")
