"""The LISTEN/NOTIFY change source against real PostgreSQL: changes, rollbacks, drops."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import psycopg
import pytest

from dashboard.live.postgres_source import (
    BadNotice,
    Notice,
    PostgresChangeSource,
    parse_change,
)
from dashboard.live.source import Change, SourceDisconnected

INSERT_LOG = (
    "insert into public.automation_logs (process, level, message) values ('system', 'info', %s)"
    " returning id"
)


@pytest.fixture
async def source(db_url: str) -> AsyncIterator[PostgresChangeSource]:
    src = PostgresChangeSource(db_url, channels=("cs_changes", "automation_commands"))
    await src.connect()
    yield src
    await src.close()


async def next_change(src: PostgresChangeSource, timeout: float = 2.0) -> Change:
    changes = src.changes()
    try:
        return await asyncio.wait_for(anext(changes), timeout)
    finally:
        await changes.aclose()  # type: ignore[attr-defined]


async def test_it_yields_one_change_per_committed_statement(
    source: PostgresChangeSource, db_url: str
) -> None:
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
        row = await (await conn.execute(INSERT_LOG, ("hello",))).fetchone()
    change = await next_change(source)
    assert change == {"table": "automation_logs", "op": "INSERT", "ids": [row[0]], "n": 1}


async def test_it_never_yields_a_rolled_back_change(
    source: PostgresChangeSource, db_url: str
) -> None:
    async with await psycopg.AsyncConnection.connect(db_url) as conn:
        await conn.execute(INSERT_LOG, ("never committed",))
        await conn.rollback()
        await conn.execute("update public.automation_config set batch_size = batch_size")
        await conn.commit()
    change = await next_change(source)
    assert change["table"] == "automation_config"
    assert change["op"] == "UPDATE"


async def test_it_skips_malformed_notices_and_keeps_going(
    source: PostgresChangeSource, db_url: str
) -> None:
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
        await conn.execute("select pg_notify('cs_changes', 'not json at all')")
        await conn.execute("""select pg_notify('cs_changes', '{"table": "x", "op": "TRUNCATE"}')""")
        await conn.execute(INSERT_LOG, ("after the garbage",))
    change = await next_change(source)
    assert change["table"] == "automation_logs"
    assert source.bad_notices == 2


async def test_it_listens_on_extra_channels_given_to_it(
    source: PostgresChangeSource, db_url: str
) -> None:
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
        # The payload trigger 5 (automation_commands_notify) sends.
        await conn.execute(
            "select pg_notify('automation_commands',"
            """ '{"id": 7, "process": "implementation", "command": "pause"}')"""
        )
    seen: list[Notice] = []
    notices = source.notices()
    try:
        while not any(n.channel == "automation_commands" for n in seen):
            seen.append(await asyncio.wait_for(anext(notices), 2.0))
    finally:
        await notices.aclose()  # type: ignore[attr-defined]
    command = parse_change(next(n for n in seen if n.channel == "automation_commands"))
    assert command["table"] == "automation_commands"
    assert command["op"] == "NOTIFY"
    assert command["ids"] == [7]


async def test_it_raises_source_disconnected_soon_after_its_backend_is_terminated(
    source: PostgresChangeSource, db_url: str
) -> None:
    changes = source.changes()
    pending = asyncio.ensure_future(anext(changes))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
        await conn.execute("select pg_terminate_backend(%s)", (source.backend_pid,))
    with pytest.raises(SourceDisconnected):
        await asyncio.wait_for(pending, 3.0)
    print(f"terminated -> SourceDisconnected: {(time.monotonic() - started) * 1000:.0f} ms")


async def test_it_refuses_to_connect_to_an_unreachable_server_with_a_clear_error() -> None:
    src = PostgresChangeSource("postgresql://nobody@127.0.0.1:1/none", connect_timeout=2)
    with pytest.raises(SourceDisconnected, match="cannot open the LISTEN connection"):
        await src.connect()
    await src.close()


@pytest.mark.parametrize(
    "payload",
    [
        "[1, 2]",
        '{"table": "", "op": "INSERT", "ids": [], "n": 1}',
        '{"table": "t", "op": "INSERT", "ids": 3, "n": 1}',
        '{"table": "t", "op": "INSERT", "ids": [], "n": true}',
    ],
)
def test_it_rejects_payloads_that_are_not_changes(payload: str) -> None:
    with pytest.raises(BadNotice):
        parse_change(Notice("cs_changes", payload))


class FreezingProxy:
    """A TCP front for the server's Unix socket that can go silent without closing,
    as a dead network path does (no FIN, no RST: only a probe can tell)."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self.frozen = False
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_unix_connection(self.socket_path)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            while data := await src.read(65536):
                if not self.frozen:
                    dst.write(data)
                    await dst.drain()

        await asyncio.gather(
            pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True
        )
        writer.close()
        up_writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


async def test_its_keepalive_probe_notices_a_connection_gone_silent(db_url: str) -> None:
    info = psycopg.conninfo.conninfo_to_dict(db_url)
    if not str(info.get("host", "")).startswith("/"):
        pytest.skip("the freezing proxy fronts a Unix-socket server (the embedded one)")
    proxy = FreezingProxy(f"{info['host']}/.s.PGSQL.{info.get('port') or 5432}")
    port = await proxy.start()
    url = psycopg.conninfo.make_conninfo(db_url, host="127.0.0.1", port=port)
    src = PostgresChangeSource(url, keepalive=0.2, probe_timeout=0.3)
    await src.connect()
    changes = src.changes()
    pending = asyncio.ensure_future(anext(changes))
    await asyncio.sleep(0.5)  # a few healthy probes first
    assert not pending.done()
    proxy.frozen = True
    started = time.monotonic()
    with pytest.raises(SourceDisconnected):
        await asyncio.wait_for(pending, 5.0)
    elapsed = time.monotonic() - started
    await src.close()
    await proxy.stop()
    print(f"frozen -> SourceDisconnected: {elapsed * 1000:.0f} ms")  # probe 0.2 s + timeout 0.3 s
