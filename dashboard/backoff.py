"""Capped exponential backoff: the one rule every reconnect and retry in the app waits by.

`Backoff(first, cap)` waits `first` after the first failure, twice that after the
second, and so on up to `cap`; `jitter=(lo, hi)` multiplies each wait by a random
factor in that range, so that many processes that lost the same server do not all
come back in the same instant. A loop that reconnects calls `reset()` once it is
connected again and `await wait(stop)` after each failure:

    backoff = Backoff(0.5, 10.0)
    while not stop.is_set():
        try:
            conn = await connect()
            backoff.reset()
            await serve(conn)
        except OSError:
            await backoff.wait(stop)

Users: the live bus (`live/bus.py`), the worker's command listener
(`worker/listener.py`), the outreach listener (`outreach/background.py`), Smartlead's
retries (`outreach/smartlead.py`) and the alert outbox (`alerts/delivery.py`, which
stores the next attempt instead of sleeping).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
from dataclasses import dataclass

#: 2**64 times any useful first delay is past any cap; beyond it the float would overflow.
_MAX_DOUBLINGS = 64


@dataclass
class Backoff:
    first: float
    cap: float = math.inf
    jitter: tuple[float, float] = (1.0, 1.0)
    #: Consecutive failures so far (since the last `reset`).
    failures: int = 0

    def delay(self, failure: int) -> float:
        """The wait after the `failure`-th consecutive failure (1 is the first)."""
        doublings = min(max(0, failure - 1), _MAX_DOUBLINGS)
        base = min(self.first * 2.0**doublings, self.cap)
        low, high = self.jitter
        return base if low == high == 1.0 else base * random.uniform(low, high)

    def failed(self) -> float:
        """Count one more failure; the wait it calls for."""
        self.failures += 1
        return self.delay(self.failures)

    def reset(self) -> None:
        """Connected again: the next failure waits `first` again."""
        self.failures = 0

    async def wait(self, stop: asyncio.Event | None = None) -> float:
        """Count a failure and wait for it (less when `stop` is set); the full wait."""
        seconds = self.failed()
        await pause(seconds, stop)
        return seconds


async def pause(seconds: float, stop: asyncio.Event | None = None) -> None:
    """Sleep `seconds`, or until `stop` is set (a loop that is told to stop stops now)."""
    if stop is None:
        await asyncio.sleep(seconds)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
