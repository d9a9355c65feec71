"""The Supabase Realtime change source: `postgres_changes` over realtime-py.

One channel per process subscribes to every published table. realtime-py calls its
callbacks synchronously inside its socket task (an `async def` callback would never
be awaited), so the callbacks only hand the payload to an asyncio queue; `changes()`
reads that queue and turns each payload into a small `Change`.

realtime-py's own reconnect gives up for good after `max_retries`, and its
heartbeats never check for an answer. So the client here runs with
`auto_reconnect=False` and this source reports every drop as `SourceDisconnected`:
- the socket closing (cleanly or not), a channel error or close from the server,
  and a refused or timed-out join all reach the subscribe callback;
- a silent link (no close frame, no traffic) is caught by a websocket ping after
  every `liveness` idle seconds, answered within `ping_timeout`.
The bus's supervisor then calls `connect()` again, which builds a fresh client.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from realtime import AsyncRealtimeChannel, AsyncRealtimeClient, RealtimeSubscribeStates
from realtime.types import RealtimePostgresChangesListenEvent

from dashboard.live.postgres_source import PUBLISHED_TABLES
from dashboard.live.source import Change, SourceDisconnected
from dashboard.settings import Settings

log = logging.getLogger(__name__)

TOPIC = "cliftonsites-live"
_OPS = frozenset({"INSERT", "UPDATE", "DELETE"})
#: Key columns of published tables that have no `id` (automation_status is per process).
_KEYS = ("id", "process")


@dataclass(frozen=True)
class Dropped:
    """Put on the queue when the feed is over; `changes()` raises with its reason."""

    reason: str


class BadPayload(ValueError):
    """A `postgres_changes` payload this source does not understand."""


def to_change(payload: Any) -> Change:
    """`{'data': {'table', 'type', 'record', 'old_record', ...}, 'ids': [...]}` as a Change."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        raise BadPayload(f"postgres_changes payload without 'data': {str(payload)[:120]}")
    table, op = data.get("table"), data.get("type")
    if not isinstance(table, str) or not table or op not in _OPS:
        raise BadPayload(f"postgres_changes payload without table or type: {str(data)[:120]}")
    row = data.get("old_record" if op == "DELETE" else "record") or {}
    key = next((row[k] for k in _KEYS if isinstance(row, dict) and row.get(k) is not None), None)
    return Change(table=table, op=op, ids=[] if key is None else [key], n=1)


def realtime_url(project_url: str) -> str:
    """The Realtime endpoint of a project URL (realtime-py adds ws(s):// and /websocket)."""
    return project_url.rstrip("/") + "/realtime/v1"


class SupabaseChangeSource:
    """A `ChangeSource` over Supabase Realtime; reusable: `connect()` after a drop."""

    def __init__(
        self,
        project_url: str,
        api_key: str,
        *,
        tables: Sequence[str] = PUBLISHED_TABLES,
        schema: str = "public",
        join_timeout: int = 10,
        liveness: float = 15.0,
        ping_timeout: float = 5.0,
        max_queue: int = 10_000,
    ) -> None:
        if not tables:
            raise ValueError("give at least one table to watch, e.g. ('automation_logs',)")
        self.url = realtime_url(project_url)
        #: The service-role key: postgres_changes obeys RLS, and anon sees nothing here.
        self.api_key = api_key
        self.tables = tuple(tables)
        self.schema = schema
        self.join_timeout = join_timeout
        self.liveness = liveness
        self.ping_timeout = ping_timeout
        self.max_queue = max_queue
        #: Malformed payloads skipped so far, and the last system message of the channel.
        self.bad_payloads = 0
        self.system_message: str | None = None
        self._client: AsyncRealtimeClient | None = None
        self._channel: AsyncRealtimeChannel | None = None
        self._queue: asyncio.Queue[Any] = asyncio.Queue()

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> SupabaseChangeSource:
        settings.require("SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY")
        assert settings.supabase_url and settings.supabase_service_role_key
        return cls(settings.supabase_url, settings.supabase_service_role_key, **options)

    @property
    def connected(self) -> bool:
        channel = self._channel
        return bool(self._client and self._client.is_connected and channel and channel.is_joined)

    async def connect(self) -> None:
        """Open a fresh socket, join one channel for all tables; SourceDisconnected if refused."""
        await self.close()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        joined: asyncio.Future[tuple[RealtimeSubscribeStates, Exception | None]]
        joined = loop.create_future()

        def put(item: Any) -> None:
            if queue.qsize() >= self.max_queue:
                item = Dropped(f"more than {self.max_queue} changes waiting: the bus fell behind")
            queue.put_nowait(item)

        def on_status(state: RealtimeSubscribeStates, error: Exception | None) -> None:
            if not joined.done():
                joined.set_result((state, error))
            elif state != RealtimeSubscribeStates.SUBSCRIBED:
                loop.call_soon_threadsafe(put, Dropped(f"Realtime channel {state.value}: {error}"))

        def on_change(payload: Any) -> None:
            loop.call_soon_threadsafe(put, payload)

        client = AsyncRealtimeClient(
            self.url, token=self.api_key, auto_reconnect=False, max_retries=1,
            timeout=self.join_timeout,
        )  # fmt: skip
        channel = client.channel(TOPIC)
        for table in self.tables:
            channel.on_postgres_changes(
                RealtimePostgresChangesListenEvent.All,
                on_change,
                table=table,
                schema=self.schema,
            )
        channel.on_system(self._on_system)
        self._client, self._channel, self._queue = client, channel, queue
        await self._join(channel, on_status, joined)

    async def _join(
        self,
        channel: AsyncRealtimeChannel,
        on_status: Any,
        joined: asyncio.Future[tuple[RealtimeSubscribeStates, Exception | None]],
    ) -> None:
        try:
            await asyncio.wait_for(channel.subscribe(on_status), self.join_timeout + 1)
            state, error = await asyncio.wait_for(asyncio.shield(joined), self.join_timeout)
        except Exception as exc:
            await self.close()
            raise SourceDisconnected(
                f"cannot reach Supabase Realtime at {self.url}: {exc}"
            ) from exc
        if state != RealtimeSubscribeStates.SUBSCRIBED:
            await self.close()
            raise SourceDisconnected(
                f"Supabase Realtime refused the subscription: {state.value}: {error}"
            )

    def _on_system(self, payload: Any) -> None:
        self.system_message = getattr(payload, "message", None)

    async def changes(self) -> AsyncIterator[Change]:
        if self._client is None:
            raise SourceDisconnected("the Realtime socket is not open: call connect() first")
        queue = self._queue
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), self.liveness)
            except TimeoutError:
                await self._probe()
                continue
            if isinstance(item, Dropped):
                await self.close()
                raise SourceDisconnected(item.reason)
            try:
                change = to_change(item)
            except BadPayload as exc:
                self.bad_payloads += 1
                log.warning("skipping a malformed Realtime payload: %s", exc)
                continue
            yield change

    async def _probe(self) -> None:
        """Ping the socket after an idle spell; a silent link becomes SourceDisconnected."""
        ws = self._client._ws_connection if self._client else None
        reason = "the Realtime socket closed"
        if ws is not None and self.connected:
            try:
                pong = await ws.ping()
                await asyncio.wait_for(pong, self.ping_timeout)
                return
            except Exception as exc:
                reason = f"no answer to a ping within {self.ping_timeout} s ({exc!r})"
        await self.close()
        raise SourceDisconnected(reason)

    async def close(self) -> None:
        client, self._client, self._channel = self._client, None, None
        if client is None:
            return
        ws = client._ws_connection
        try:
            await asyncio.wait_for(client.close(), self.ping_timeout)
        except Exception as exc:  # a dead link never finishes the closing handshake
            log.debug("closing the Realtime socket: %s", exc)
            if ws is not None:
                ws.transport.abort()
