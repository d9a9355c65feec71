"""LISTEN on `automation_commands` (trigger 5), so a command wakes the worker at once.

One dedicated psycopg connection per worker process. Each notice
`{"id", "process", "command"}` wakes the loop of that process. When the connection
drops, the listener reconnects with backoff and wakes every loop once, since a
notice may have been missed meanwhile; the loops also re-read their desired state at
every heartbeat, so nothing depends on a notice arriving.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

import psycopg

from dashboard.backoff import Backoff, pause

CHANNEL = "automation_commands"
log = logging.getLogger(__name__)


class CommandListener:
    def __init__(self, url: str, wake: Callable[[str | None], None]) -> None:
        self.url = url
        self.wake = wake
        self.connected = asyncio.Event()
        self.backoff = Backoff(0.5, 10.0)

    async def run(self, stop: asyncio.Event) -> None:
        """Listen until `stop` is set, reconnecting with backoff (0.5 s doubling to 10 s,
        from 0.5 s again once connected)."""
        while not stop.is_set():
            try:
                await self._listen(stop)
            except (psycopg.Error, OSError) as exc:
                self.connected.clear()
                delay = self.backoff.failed()
                log.warning(
                    "command listener lost its connection (%s); retrying in %.1fs", exc, delay
                )
                await pause(delay, stop)

    async def _listen(self, stop: asyncio.Event) -> None:
        conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        try:
            await conn.execute(f"listen {CHANNEL}")
            self.connected.set()
            self.backoff.reset()
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
