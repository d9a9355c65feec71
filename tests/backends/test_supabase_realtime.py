"""The Supabase Realtime source against a local websocket server speaking Phoenix.

`FakeRealtime` answers as Supabase Realtime does: `phx_join` gets a `phx_reply` with
one `postgres_changes` id per binding and a "Subscribed to PostgreSQL" system
message; heartbeats on topic `phoenix` get replies; changes arrive as
`postgres_changes` messages whose `ids` name the binding. Drops are real: the TCP
connection aborted without a close frame, a clean close, or a link gone silent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve

from dashboard.live.bus import LiveBus
from dashboard.live.source import Change, SourceDisconnected
from dashboard.live.supabase_source import BadPayload, SupabaseChangeSource, to_change

TABLES = ("automation_logs", "automation_status", "pipeline_businesses")
FIRST_BINDING_ID = 31_415_000  # Supabase's ids are large; realtime-py ignores id 0


class FakeRealtime:
    """A Phoenix-channel server in the shape of Supabase Realtime (one test at a time)."""

    def __init__(self) -> None:
        self.server: Server | None = None
        self.connections: list[ServerConnection] = []
        self.paths: list[str] = []
        self.joins: list[dict[str, Any]] = []
        self.heartbeats = 0
        self.refuse_join: dict[str, Any] | None = None
        self.bindings: dict[str, int] = {}

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def start(self) -> None:
        self.server = await serve(self._handle, "127.0.0.1", 0)

    async def stop(self) -> None:
        for ws in self.connections:
            ws.transport.abort()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    @property
    def current(self) -> ServerConnection:
        return self.connections[-1]

    async def _handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        self.paths.append(ws.request.path)
        self.connections.append(ws)
        async for raw in ws:
            await self._answer(ws, json.loads(raw))

    async def _answer(self, ws: ServerConnection, msg: dict[str, Any]) -> None:
        topic, event, ref = msg["topic"], msg["event"], msg.get("ref")
        if topic == "phoenix" and event == "heartbeat":
            self.heartbeats += 1
            await self._reply(ws, "phoenix", ref, "ok", {})
        elif event == "phx_join":
            self.joins.append(msg)
            await self._join(ws, topic, ref, msg["payload"])
        elif event == "phx_leave":
            await self._reply(ws, topic, ref, "ok", {})

    async def _join(self, ws: ServerConnection, topic: str, ref: Any, payload: Any) -> None:
        if self.refuse_join is not None:
            await self._reply(ws, topic, ref, "error", self.refuse_join)
            return
        bindings = payload["config"]["postgres_changes"]
        answered = []
        for i, b in enumerate(bindings):
            self.bindings[b["table"]] = FIRST_BINDING_ID + i
            answered.append({**b, "id": FIRST_BINDING_ID + i})
        await self._reply(ws, topic, ref, "ok", {"postgres_changes": answered})
        system = {
            "channel": topic.removeprefix("realtime:"),
            "extension": "postgres_changes",
            "message": "Subscribed to PostgreSQL",
            "status": "ok",
        }
        await self.send(ws, topic, "system", system)

    async def _reply(
        self, ws: ServerConnection, topic: str, ref: Any, status: str, resp: Any
    ) -> None:
        payload = {"status": status, "response": resp}
        await ws.send(
            json.dumps({"topic": topic, "event": "phx_reply", "payload": payload, "ref": ref})
        )

    async def send(self, ws: ServerConnection, topic: str, event: str, payload: Any) -> None:
        await ws.send(json.dumps({"topic": topic, "event": event, "payload": payload, "ref": None}))

    async def change(self, table: str, op: str, record: Any, old: Any = None) -> None:
        data = {
            "schema": "public",
            "table": table,
            "commit_timestamp": "2026-11-25T10:00:00.000Z",
            "type": op,
            "columns": [{"name": "id", "type": "int8"}],
            "record": record or {},
            "old_record": old or {},
            "errors": None,
        }
        payload = {"data": data, "ids": [self.bindings[table]]}
        topic = self.joins[-1]["topic"]
        await self.send(self.current, topic, "postgres_changes", payload)


@pytest.fixture
async def realtime() -> AsyncIterator[FakeRealtime]:
    server = FakeRealtime()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def source(realtime: FakeRealtime) -> AsyncIterator[SupabaseChangeSource]:
    src = SupabaseChangeSource(
        realtime.url, "service-key", tables=TABLES, join_timeout=2, liveness=0.3, ping_timeout=0.3
    )
    yield src
    await src.close()


async def next_change(it: AsyncIterator[Change]) -> Change:
    return await asyncio.wait_for(anext(it), 3)


async def test_it_joins_one_channel_with_a_binding_per_table(
    realtime: FakeRealtime, source: SupabaseChangeSource
) -> None:
    await source.connect()
    assert source.connected
    path = urlparse(realtime.paths[0])
    assert path.path == "/realtime/v1/websocket"
    assert parse_qs(path.query) == {"apikey": ["service-key"], "vsn": ["1.0.0"]}
    join = realtime.joins[0]
    assert join["topic"] == "realtime:cliftonsites-live"
    assert join["payload"]["access_token"] == "service-key"
    assert join["payload"]["config"]["postgres_changes"] == [
        {"event": "*", "schema": "public", "table": t} for t in TABLES
    ]


async def test_it_delivers_inserts_updates_and_deletes_as_small_changes(
    realtime: FakeRealtime, source: SupabaseChangeSource
) -> None:
    await source.connect()
    changes = source.changes()
    await realtime.change("automation_logs", "INSERT", {"id": 41, "message": "hello"})
    await realtime.change("automation_status", "UPDATE", {"process": "implementation"})
    await realtime.change("pipeline_businesses", "DELETE", None, old={"id": 9})
    assert await next_change(changes) == {
        "table": "automation_logs",
        "op": "INSERT",
        "ids": [41],
        "n": 1,
    }
    assert (await next_change(changes))["ids"] == ["implementation"]
    deleted = await next_change(changes)
    assert (deleted["op"], deleted["ids"]) == ("DELETE", [9])
    await changes.aclose()


async def test_a_malformed_payload_is_dropped_and_the_feed_goes_on(
    realtime: FakeRealtime, source: SupabaseChangeSource
) -> None:
    await source.connect()
    changes = source.changes()
    await realtime.change("automation_logs", "TRUNCATE", {"id": 1})
    await realtime.change("automation_logs", "INSERT", {"id": 2})
    assert (await next_change(changes))["ids"] == [2]
    assert source.connected
    await changes.aclose()


async def test_it_sends_heartbeats_that_the_server_answers(
    realtime: FakeRealtime, source: SupabaseChangeSource
) -> None:
    await source.connect()
    for _ in range(50):
        if realtime.heartbeats:
            break
        await asyncio.sleep(0.02)
    assert realtime.heartbeats >= 1
    changes = source.changes()
    await asyncio.sleep(0.5)  # longer than `liveness`: idle probes must pass quietly
    await realtime.change("automation_logs", "INSERT", {"id": 3})
    assert (await next_change(changes))["ids"] == [3]
    assert source.connected
    await changes.aclose()


async def test_a_connection_dropped_without_a_close_frame_raises_source_disconnected(
    realtime: FakeRealtime, source: SupabaseChangeSource
) -> None:
    await source.connect()
    changes = source.changes()
    realtime.current.transport.abort()
    with pytest.raises(SourceDisconnected, match=r"CHANNEL_ERROR|closed"):
        await next_change(changes)
    assert not source.connected


async def test_a_clean_close_by_the_server_raises_source_disconnected(
    realtime: FakeRealtime, source: SupabaseChangeSource
) -> None:
    await source.connect()
    changes = source.changes()
    await realtime.current.close(1001, "going away")
    with pytest.raises(SourceDisconnected):
        await next_change(changes)


async def test_a_silent_link_is_caught_by_the_ping_probe(
    realtime: FakeRealtime, source: SupabaseChangeSource
) -> None:
    await source.connect()
    changes = source.changes()
    realtime.current.transport.pause_reading()  # no close, no pong: a dead network path
    with pytest.raises(SourceDisconnected, match="no answer to a ping"):
        await next_change(changes)


async def test_a_channel_error_from_the_server_raises_source_disconnected(
    realtime: FakeRealtime, source: SupabaseChangeSource
) -> None:
    await source.connect()
    changes = source.changes()
    topic = realtime.joins[-1]["topic"]
    await realtime.send(realtime.current, topic, "phx_error", {"reason": "replication slot lost"})
    with pytest.raises(SourceDisconnected, match="CHANNEL_ERROR"):
        await next_change(changes)


async def test_a_refused_join_raises_source_disconnected_with_the_reason(
    realtime: FakeRealtime, source: SupabaseChangeSource
) -> None:
    realtime.refuse_join = {"reason": "Invalid JWT: expired"}
    with pytest.raises(SourceDisconnected, match="Invalid JWT"):
        await source.connect()
    assert not source.connected


async def test_an_unreachable_server_raises_source_disconnected(realtime: FakeRealtime) -> None:
    url = realtime.url
    await realtime.stop()
    src = SupabaseChangeSource(url, "k", tables=TABLES, join_timeout=1)
    with pytest.raises(SourceDisconnected, match="cannot reach Supabase Realtime"):
        await src.connect()


async def test_connect_again_after_a_drop_rejoins_and_delivers(
    realtime: FakeRealtime, source: SupabaseChangeSource
) -> None:
    await source.connect()
    changes = source.changes()
    realtime.current.transport.abort()
    with pytest.raises(SourceDisconnected):
        await next_change(changes)
    await source.connect()
    assert len(realtime.joins) == 2
    changes = source.changes()
    await realtime.change("automation_logs", "INSERT", {"id": 77})
    assert (await next_change(changes))["ids"] == [77]
    await changes.aclose()


async def test_the_live_bus_reconnects_and_refetches_the_snapshot_after_a_drop(
    realtime: FakeRealtime, source: SupabaseChangeSource
) -> None:
    snapshots = 0

    async def fetch() -> int:
        nonlocal snapshots
        snapshots += 1
        return snapshots

    bus: LiveBus[int] = LiveBus(source, fetch, backoff_initial=0.05)
    await bus.start()
    try:
        assert await bus.wait_for(lambda: bus.connected and bus.version >= 1, 3)
        realtime.current.transport.abort()
        assert await bus.wait_for(lambda: bus.reconnects == 1 and bus.connected, 5)
        assert len(realtime.joins) == 2
        assert await bus.wait_for(lambda: bus.version >= 2, 3)
        await realtime.change("automation_logs", "INSERT", {"id": 5})
        assert await bus.wait_for(lambda: bus.changes_received == 1, 3)
    finally:
        await bus.stop()


def test_to_change_uses_the_old_record_for_deletes_and_tolerates_missing_keys() -> None:
    data = {
        "table": "stripe_events",
        "type": "DELETE",
        "record": None,
        "old_record": {"id": "evt_1"},
    }
    assert to_change({"data": data, "ids": [1]})["ids"] == ["evt_1"]
    data = {"table": "automation_config", "type": "UPDATE", "record": {"batch_size": 5}}
    assert to_change({"data": data, "ids": [1]}) == {
        "table": "automation_config",
        "op": "UPDATE",
        "ids": [],
        "n": 1,
    }


@pytest.mark.parametrize(
    "payload",
    [None, {"ids": [1]}, {"data": {"type": "INSERT"}}, {"data": {"table": "t", "type": "MERGE"}}],
)
def test_to_change_refuses_a_payload_without_table_or_known_type(payload: Any) -> None:
    with pytest.raises(BadPayload):
        to_change(payload)
