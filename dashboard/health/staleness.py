"""The staleness clock: one timer per app process that notices when time alone makes
the snapshot wrong, and asks the live bus for a fresh one.

The snapshot (`get_dashboard_snapshot`) is read only when the database changes. A
worker that goes silent changes nothing, so without this clock every page would keep
showing its last heartbeat as healthy. Each tick (twice a second) looks at the
snapshot the bus already holds and computes, in database time, the next moment a
heartbeat crosses `heartbeat_stale_seconds` (the process's, or one worker's); once
that moment has passed it calls `bus.refresh()`. The re-read snapshot then says
`is_stale` (and the lower worker count), and reaches every open page through the bus,
as any other snapshot does. A tick costs no query: only a crossing does, once per
process, however many browsers are open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime, timedelta
from typing import Any

from dashboard.data.models import DashboardSnapshot

log = logging.getLogger(__name__)
TICK_SECONDS = 0.5
#: A crossing that the re-read did not confirm (clock rounding) is asked again, but
#: not more often than this.
RETRY_SECONDS = 1.0


def next_crossing(snapshot: DashboardSnapshot) -> datetime | None:
    """The earliest moment (database time) a fresh heartbeat in `snapshot` turns stale."""
    limit = timedelta(seconds=snapshot.config.heartbeat_stale_seconds)
    moments: list[datetime] = []
    for status in snapshot.status:
        if status.last_heartbeat_at is not None and not status.is_stale:
            moments.append(status.last_heartbeat_at + limit)
        for worker in status.workers.values():
            crossing = worker.heartbeat_at + limit
            if crossing > snapshot.generated_at:  # still counted in worker_count
                moments.append(crossing)
    return min(moments, default=None)


def as_snapshot(value: Any) -> DashboardSnapshot | None:
    if value is None or isinstance(value, DashboardSnapshot):
        return value
    try:
        return DashboardSnapshot.model_validate(value)
    except ValueError:
        return None


class StalenessClock:
    """The process's one staleness timer over a live bus (`start()` / `stop()`)."""

    def __init__(self, bus: Any, *, tick: float = TICK_SECONDS) -> None:
        self.bus = bus
        self.tick = tick
        #: How many refreshes a crossing asked for (for tests and /healthz).
        self.refreshes = 0
        self._asked: tuple[datetime, float] | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="staleness-clock")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def database_now(self, snapshot: DashboardSnapshot) -> datetime:
        """The database's clock now, from the snapshot's `generated_at` and how long ago
        the bus delivered it (no query, and no trust in this machine's wall clock)."""
        delivered = getattr(self.bus, "snapshot_at", None)
        waited = time.monotonic() - delivered if delivered is not None else 0.0
        return snapshot.generated_at + timedelta(seconds=max(0.0, waited))

    def check(self) -> bool:
        """One tick: ask for a fresh snapshot when a heartbeat has just turned stale."""
        snapshot = as_snapshot(getattr(self.bus, "snapshot", None))
        if snapshot is None:
            return False
        crossing = next_crossing(snapshot)
        if crossing is None or self.database_now(snapshot) < crossing:
            return False
        now = time.monotonic()
        asked = self._asked
        if asked is not None and asked[0] == crossing and now - asked[1] < RETRY_SECONDS:
            return False
        self._asked = (crossing, now)
        self.refreshes += 1
        self.bus.refresh()
        return True

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.tick)
            try:
                self.check()
            except Exception:  # a bad snapshot must not end the clock
                log.exception("staleness clock tick failed")
