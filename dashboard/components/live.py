"""How a page follows the live bus (dashboard/live): one subscription per process,
fanned out here to the page's own client.

- `on_snapshot(render)`: `render(snapshot)` after every coalesced snapshot; the
  overview uses it to update its cards in place, at no query per browser.
- `watch(tables, refresh)`: `refresh()` after changes to `tables`; a burst of changes
  becomes one refresh per page (the tail of the logs, the runs list, a detail page),
  and every reconnect brings one more (changes in the gap are never replayed).
- `follow_rows(table, fetch_rows, merge, reload)`: the live tail of a table: the
  burst's rows are read once per process (the bus's shared row feed) and each page
  folds them into what it shows with `merge(batch)`, so the number of queries does
  not grow with the number of admins. `reload()` runs instead when the batch is
  incomplete (a statement touched more than 50 rows), when `merge` returns False,
  and after every reconnect.
- `banner()`: "reconnecting" while the bus is down.

Nothing is pushed to a page whose session has ended: before a burst is pushed, the
sessions of the open pages are read once for the whole process (`confirm_pages`, at
most two reads per burst however many pages follow it), and a page whose session
ended is not pushed to but ended (`dashboard.auth.open_pages`). Subscriptions end
when the browser goes away (no global lists of elements). Without a bus (e.g. a test
app that never started one) pages fall back to a slow timer. This module queries
nothing itself: a snapshot the bus does not hold yet is read by the live service
(`dashboard.live.service.read_snapshot`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, ParamSpec

from nicegui import background_tasks, ui
from nicegui.client import Client

from dashboard.auth.open_pages import confirm_pages, note_change, page_is_live
from dashboard.data.models import DashboardSnapshot
from dashboard.live.bus import ALL
from dashboard.live.nicegui_glue import reconnecting_banner
from dashboard.live.service import read_snapshot
from dashboard.runtime import get_runtime

P = ParamSpec("P")
Refresh = Callable[[], Awaitable[None]]
Render = Callable[[DashboardSnapshot], Awaitable[None] | None]
FALLBACK_POLL_SECONDS = 5.0
DEBOUNCE_SECONDS = 0.02


def bus() -> Any:
    """The process's live bus, or None when none was started."""
    try:
        return get_runtime().services.get("live")
    except RuntimeError:
        return None


async def current_snapshot() -> DashboardSnapshot:
    """The bus's latest snapshot, or a fresh one when the bus has none yet."""
    live = bus()
    value = getattr(live, "snapshot", None)
    if value is None:
        return await read_snapshot(get_runtime())
    if isinstance(value, DashboardSnapshot):
        return value
    return DashboardSnapshot.model_validate(value)


async def _still_live(client: Client, *, since: float | None = None) -> bool:
    """May this page be pushed what arrived? Only after a read of the sessions that began
    after the last change arrived (`since`: after a reconnect, now)."""
    if client.is_deleted:
        return False
    return await confirm_pages(since) and page_is_live(client)


#: Each bus tells the page reaper about every change as it arrives (see `confirm_pages`).
_hooked: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _hook(live: Any) -> None:
    if live not in _hooked:
        _hooked[live] = live.subscribe(ALL, note_change)


def _end_with_client(subscriptions: list[Any]) -> None:
    def cancel() -> None:
        for sub in subscriptions:
            with contextlib.suppress(Exception):
                sub.cancel()

    ui.context.client.on_delete(cancel)


def on_snapshot(render: Render) -> None:
    """Call `render(snapshot)` in this page for every new snapshot the bus delivers."""
    client = ui.context.client
    live = bus()
    if live is None:

        async def poll() -> None:
            await _call(render, await current_snapshot())

        ui.timer(FALLBACK_POLL_SECONDS, poll).mark("snapshot-poll")
        return

    async def deliver(value: Any) -> None:
        if not await _still_live(client):
            return
        snapshot = (
            value
            if isinstance(value, DashboardSnapshot)
            else DashboardSnapshot.model_validate(value)
            if isinstance(value, dict)
            else None
        )
        if snapshot is None:  # not a dashboard snapshot (a bus that carries other values)
            return
        with client:
            await _call(render, snapshot)

    _hook(live)
    _end_with_client([live.on_snapshot(deliver)])


async def _call(render: Render, snapshot: DashboardSnapshot) -> None:
    result = render(snapshot)
    if inspect.isawaitable(result):
        await result


def watch(tables: Iterable[str], refresh: Refresh, *, min_interval: float = 0.0) -> None:
    """Run `refresh()` in this page's client after a burst of changes to `tables`.

    `min_interval` spaces refreshes of views whose query cannot be shared between
    browsers (a search over a big table): at most one per interval, the last change
    always followed by a refresh.
    """
    client = ui.context.client
    live = bus()
    if live is None:  # the page has just drawn what it shows: the first poll can wait
        ui.timer(FALLBACK_POLL_SECONDS, refresh, immediate=False).mark("page-poll")
        return
    scheduled: list[asyncio.Task[None]] = []
    last_run = [0.0]

    async def run_later() -> None:
        loop = asyncio.get_running_loop()
        wait = max(DEBOUNCE_SECONDS, last_run[0] + min_interval - loop.time())
        await asyncio.sleep(wait)
        scheduled.clear()
        last_run[0] = loop.time()
        if await _still_live(client):
            with client:
                await refresh()

    def on_change(_change: object) -> None:
        if not scheduled and not client.is_deleted:
            # in the client's context, so a refresh that fails reaches the page's
            # exception handlers (components/errors.py) and not only the log
            task = background_tasks.create(run_later(), name="live refresh", context=client)
            scheduled.append(task)

    def on_status(connected: object) -> None:
        if connected:  # changes in the gap are never replayed: re-read after a reconnect
            on_change(None)

    subscriptions = [live.subscribe(table, on_change) for table in tables]
    _hook(live)
    _end_with_client([*subscriptions, live.on_status(on_status)])


def follow_rows(
    table: str,
    fetch_rows: Callable[[list[Any]], Awaitable[list[dict[str, Any]]]],
    merge: Callable[[Any], bool],
    reload: Refresh,
) -> None:
    """Fold each burst of `table`'s rows into this page; see the module docstring.

    `fetch_rows` must be one module-level function per table: the bus makes one feed
    per table, on first use, and every page shares it.
    """
    client = ui.context.client
    live = bus()
    if live is None:
        ui.timer(FALLBACK_POLL_SECONDS, reload)
        return

    async def on_rows(batch: Any) -> None:
        if not await _still_live(client):
            return
        with client:
            if not batch.complete or not merge(batch):
                await reload()

    async def on_status(connected: object) -> None:
        if connected and await _still_live(client, since=time.monotonic()):  # gap: re-read
            with client:
                await reload()

    feed = live.row_feed(table, fetch_rows)
    _hook(live)
    _end_with_client([feed.subscribe(on_rows), live.on_status(on_status)])


def banner() -> None:
    """A 'reconnecting' banner, shown while the bus's `connected` flag is false."""
    if bus() is not None:
        reconnecting_banner()


def survives_refresh(handler: Callable[P, Awaitable[None]]) -> Callable[P, Awaitable[None]]:
    """Run a click handler inside its page's client, not inside the button's slot.

    For buttons inside a `@ui.refreshable` that live changes re-run (the reconcile
    and business pages): a refresh may delete the button (and its slot) while the
    handler still waits for a dialog or the database; dialogs and notices must still
    reach the page. The overview does not need it: its buttons are never rebuilt.
    """

    @functools.wraps(handler)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        with ui.context.client:
            await handler(*args, **kwargs)

    return wrapper
