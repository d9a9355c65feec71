"""Burst coalescing: many "something changed" pokes become one query, never two at once.

The first poke after a quiet spell opens a short window; every poke inside the window,
or while the query runs, is folded into the same burst. When the query finishes and
pokes arrived meanwhile, exactly one more query follows (its result must include
those commits). Query starts are at least `min_interval` apart, so a long stream of
commits costs at most 1 / min_interval queries a second. So a burst costs one query
(a few when it lasts longer than the window), no matter how many browsers watch.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class Coalescer(Generic[T]):
    """Runs `fetch` once per burst of `poke()`s and hands each result to `deliver`."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[T]],
        deliver: Callable[[T], None],
        *,
        window: float = 0.003,
        min_interval: float = 0.025,
        retry_after: float = 1.0,
        name: str = "snapshot",
    ) -> None:
        self.fetch = fetch
        self.deliver = deliver
        self.window = window
        self.min_interval = min_interval
        self.retry_after = retry_after
        self.name = name
        #: Queries started, and those that failed (tests and /healthz read these).
        self.queries = 0
        self.failures = 0
        self.last_error: str | None = None
        self._dirty = asyncio.Event()
        self._last_start = -math.inf
        self._task: asyncio.Task[None] | None = None

    def poke(self) -> None:
        """Something changed: make sure one query runs after the current window."""
        self._dirty.set()

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"live-{self.name}-coalescer")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await self._dirty.wait()
            loop = asyncio.get_running_loop()
            wait = max(self.window, self._last_start + self.min_interval - loop.time())
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_start = loop.time()
            self._dirty.clear()
            if not await self._fetch_once():
                # Try again later even without a new poke: the data is stale until then.
                await asyncio.sleep(self.retry_after)
                self._dirty.set()

    async def _fetch_once(self) -> bool:
        self.queries += 1
        try:
            result = await self.fetch()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a failed query must not end the loop; it is retried
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("live %s query failed (will retry): %s", self.name, self.last_error)
            return False
        self.last_error = None
        try:
            self.deliver(result)
        except Exception:  # a broken consumer must not stop the next burst
            log.exception("delivering the live %s failed", self.name)
        return True
