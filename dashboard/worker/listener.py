"""LISTEN on `automation_commands` (trigger 5), so a command wakes the worker at once.

One dedicated psycopg connection per worker process. Each notice
`{"id", "process", "command"}` wakes the loop of that process. When the connection
drops, the listener reconnects with backoff and wakes every loop once, since a
notice may have been missed meanwhile; the loops also re-read their desired state at
every heartbeat, so nothing depends on a notice arriving.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable

import psycopg

CHANNEL = "automation_commands"
log = logging.getLogger(__name__)


class CommandListener:
    def __init__(self, url: str, wake: Callable[[str | None], None]) -> None:
        self.url = url
        self.wake = wake
        self.connected = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Listen until `stop` is set, reconnecting with backoff (0.5 s doubling to 10 s)."""
        delay = 0.5
        while not stop.is_set():
            try:
                await self._listen(stop)
                delay = 0.5
            except (psycopg.Error, OSError) as exc:
                self.connected.clear()
                log.warning(
                    "command listener lost its connection (%s); retrying in %.1fs", exc, delay
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                delay = min(delay * 2, 10.0)

    async def _listen(self, stop: asyncio.Event) -> None:
        conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        try:
            await conn.execute(f"listen {CHANNEL}")
            self.connected.set()
            self.wake(None)  # anything sent while we were away
            while not stop.is_set():
                async for notice in conn.notifies(timeout=1.0):
                    self.wake(_process_of(notice.payload))
        finally:
            self.connected.clear()
            await conn.close()


def _process_of(payload: str) -> str | None:
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    process = data.get("process") if isinstance(data, dict) else None
    return process if isinstance(process, str) else None
