"""The process-wide live bus: one change subscription, one snapshot query per burst.

`LiveBus` owns a `ChangeSource` (LISTEN/NOTIFY or Supabase Realtime). A supervisor
task connects it, hands every change to per-table subscribers at once, pokes the
snapshot coalescer, and after any drop reconnects with capped, jittered backoff and
re-fetches the snapshot (events in the gap are never replayed, so the snapshot is
the truth). Subscribers are plain callables behind `Subscription` handles: cancel
them (the NiceGUI glue does so when a client is deleted) or register them weakly, so
the bus never pins a dead browser in memory.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from dashboard.backoff import Backoff
from dashboard.live.coalesce import Coalescer
from dashboard.live.source import Change, ChangeSource, SourceDisconnected

log = logging.getLogger(__name__)

T = TypeVar("T")
Callback = Callable[[Any], object]
FetchRows = Callable[[list[Any]], Awaitable[list[dict[str, Any]]]]
ALL = "*"


class Subscription:
    """A handle to one registered callback; `cancel()` removes it (safe to call twice)."""

    def __init__(self, registry: dict[int, Callable[[], Callback | None]], key: int) -> None:
        self._registry = registry
        self._key = key

    @property
    def active(self) -> bool:
        return self._key in self._registry

    def cancel(self) -> None:
        self._registry.pop(self._key, None)


def _holder(callback: Callback, weak: bool) -> Callable[[], Callback | None]:
    if not weak:
        return lambda: callback
    if inspect.ismethod(callback):
        return weakref.WeakMethod(callback)
    return weakref.ref(callback)


class LiveBus(Generic[T]):
    """One subscription per process, coalesced snapshots, per-table fan-out."""

    def __init__(
        self,
        source: ChangeSource,
        fetch_snapshot: Callable[[], Awaitable[T]],
        *,
        window: float = 0.003,
        min_interval: float = 0.025,
        backoff_initial: float = 0.1,
        backoff_max: float = 5.0,
    ) -> None:
        self.source = source
        #: After a drop: backoff_initial, doubling to backoff_max, each spread by ±20 %.
        self.backoff = Backoff(backoff_initial, backoff_max, jitter=(0.8, 1.2))
        self.snapshot: T | None = None
        #: Increases by one with every snapshot delivered.
        self.version = 0
        self.snapshot_at: float | None = None
        self.changes_received = 0
        self.reconnects = 0
        self.last_error: str | None = None
        self._connected = False
        self._coalescer: Coalescer[T] = Coalescer(
            fetch_snapshot, self._deliver, window=window, min_interval=min_interval
        )
        self._subs: dict[str, dict[int, Callable[[], Callback | None]]] = {}
        self._next_key = 0
        self._task: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[Any]] = set()
        self._feeds: dict[str, RowFeed] = {}
        self._tick = asyncio.Event()

    # -- state -------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        """True while the subscription is live (for /healthz and the reconnecting banner)."""
        return self._connected

    @property
    def snapshot_queries(self) -> int:
        """Snapshot queries started since the bus was made: one per burst, not per browser."""
        return self._coalescer.queries

    @property
    def snapshot_failures(self) -> int:
        return self._coalescer.failures

    def stats(self) -> dict[str, Any]:
        return {
            "connected": self._connected,
            "version": self.version,
            "snapshot_queries": self.snapshot_queries,
            "snapshot_failures": self.snapshot_failures,
            "changes_received": self.changes_received,
            "reconnects": self.reconnects,
            "subscribers": sum(len(s) for s in self._subs.values()),
            "last_error": self.last_error or self._coalescer.last_error,
        }

    # -- subscriptions -----------------------------------------------------------------
    def subscribe(self, table: str, callback: Callback, *, weak: bool = False) -> Subscription:
        """Call `callback(change)` for each change of `table` (`"*"` for every table)."""
        return self._add(f"change:{table}", callback, weak)

    def on_snapshot(self, callback: Callback, *, weak: bool = False) -> Subscription:
        """Call `callback(snapshot)` after each snapshot query (one per burst)."""
        return self._add("snapshot", callback, weak)

    def on_status(self, callback: Callback, *, weak: bool = False) -> Subscription:
        """Call `callback(connected)` whenever the subscription goes live or drops."""
        return self._add("status", callback, weak)

    def row_feed(self, table: str, fetch_rows: FetchRows) -> RowFeed:
        """The shared feed of `table`'s new or changed rows (made on first use).

        `fetch_rows(ids)` runs once per burst for every browser watching, e.g. one
        `select ... where id = any(ids)`; each page then filters the rows in memory.
        """
        feed = self._feeds.get(table)
        if feed is None:
            feed = self._feeds[table] = RowFeed(self, table, fetch_rows)
            self.subscribe(table, feed.on_change)
            if self._task is not None:
                feed.coalescer.start()
        return feed

    def _add(self, topic: str, callback: Callback, weak: bool) -> Subscription:
        registry = self._subs.setdefault(topic, {})
        self._next_key += 1
        registry[self._next_key] = _holder(callback, weak)
        return Subscription(registry, self._next_key)

    def _emit(self, topic: str, value: object) -> None:
        registry = self._subs.get(topic)
        if not registry:
            return
        for key, holder in list(registry.items()):
            callback = holder()
            if callback is None:  # a weakly held subscriber was collected
                registry.pop(key, None)
                continue
            try:
                result = callback(value)
            except Exception:  # one broken page must not stop the others or the bus
                log.exception("live %s subscriber failed", topic)
                continue
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        """Start the supervisor and the snapshot coalescer (idempotent)."""
        if self._task is None or self._task.done():
            self._coalescer.start()
            for feed in self._feeds.values():
                feed.coalescer.start()
            self._task = asyncio.create_task(self._supervise(), name="live-bus-supervisor")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self._coalescer.stop()
        for feed in self._feeds.values():
            await feed.coalescer.stop()
        await self.source.close()
        self._set_connected(False)

    def refresh(self) -> None:
        """Ask for a fresh snapshot (coalesced with whatever burst is under way)."""
        self._coalescer.poke()

    async def wait_for(self, predicate: Callable[[], bool], within: float) -> bool:
        """Wait until `predicate()` holds (checked after each bus event); False after `within` s."""

        async def until() -> None:
            while not predicate():
                await self._tick.wait()

        try:
            await asyncio.wait_for(until(), within)
        except TimeoutError:
            return False
        return True

    # -- internals ---------------------------------------------------------------------
    def _deliver(self, snapshot: T) -> None:
        self.snapshot = snapshot
        self.version += 1
        self.snapshot_at = time.monotonic()
        self._emit("snapshot", snapshot)
        self._wake()

    def _set_connected(self, value: bool) -> None:
        if value != self._connected:
            self._connected = value
            log.info("live bus %s", "connected" if value else "disconnected")
            self._emit("status", value)
            self._wake()

    def _wake(self) -> None:
        tick, self._tick = self._tick, asyncio.Event()
        tick.set()

    def _on_change(self, change: Change) -> None:
        self.changes_received += 1
        self._coalescer.poke()
        self._emit(f"change:{change['table']}", change)
        self._emit(f"change:{ALL}", change)
        self._wake()

    async def _supervise(self) -> None:
        while True:
            try:
                await self.source.connect()
                self._set_connected(True)
                self.backoff.reset()
                self._coalescer.poke()  # the gap is never replayed: re-read everything
                await self._pump()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # SourceDisconnected, or a bug in a source: retry
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("live subscription lost, reconnecting: %s", self.last_error)
            self._set_connected(False)
            self.reconnects += 1
            await self.source.close()
            await self.backoff.wait()

    async def _pump(self) -> None:
        changes = self.source.changes()
        try:
            async for change in changes:
                self._on_change(change)
        finally:
            aclose = getattr(changes, "aclose", None)
            if aclose is not None:
                await aclose()
        raise SourceDisconnected("the change feed ended")


@dataclass(frozen=True)
class RowBatch:
    """The rows of one burst. `complete` is False when a statement touched more rows
    than its notice could name (over 50): pages should then reload their first page."""

    table: str
    rows: list[dict[str, Any]]
    complete: bool


class RowFeed:
    """New or changed rows of one table, read once per burst by id and fanned out."""

    def __init__(self, bus: LiveBus[Any], table: str, fetch_rows: FetchRows) -> None:
        self.bus = bus
        self.table = table
        self.fetch_rows = fetch_rows
        self._ids: dict[Any, None] = {}  # an ordered set
        self._complete = True
        self.coalescer: Coalescer[RowBatch] = Coalescer(
            self._fetch, self._deliver, window=bus._coalescer.window, name=f"{table} rows"
        )

    @property
    def queries(self) -> int:
        return self.coalescer.queries

    def subscribe(self, callback: Callback, *, weak: bool = False) -> Subscription:
        """Call `callback(RowBatch)` after each burst of changes to the table."""
        return self.bus._add(f"rows:{self.table}", callback, weak)

    def on_change(self, change: Change) -> None:
        if change["op"] == "DELETE":
            return
        self._ids.update(dict.fromkeys(i for i in change["ids"] if i is not None))
        if change["n"] > len(change["ids"]):
            self._complete = False
        self.coalescer.poke()

    async def _fetch(self) -> RowBatch:
        ids, complete = list(self._ids), self._complete
        self._ids, self._complete = {}, True
        try:
            rows = await self.fetch_rows(ids) if ids else []
        except BaseException:
            self._ids = dict.fromkeys(ids) | self._ids  # keep them for the retry
            self._complete = self._complete and complete
            raise
        return RowBatch(self.table, rows, complete)

    def _deliver(self, batch: RowBatch) -> None:
        self.bus._emit(f"rows:{self.table}", batch)
        self.bus._wake()
