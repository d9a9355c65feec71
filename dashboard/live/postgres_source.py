"""The LISTEN/NOTIFY change source: one dedicated psycopg connection per process.

The local bootstrap's statement-level triggers send `{"table", "op", "ids", "n"}` on
channel `cs_changes` for every table of the `supabase_realtime` publication; this
source turns those notices into `Change`s for the bus. Other channels
(`automation_commands`, `outreach_start`) can be listened to as well, for the worker
and the outreach sweeper, through `notices()`.

A dropped connection surfaces as `SourceDisconnected` promptly: a terminated backend
ends the socket at once, and a silent one (a dead network path) is caught by a
`select 1` probe after every idle `keepalive` seconds, bounded by `probe_timeout`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from dashboard.live.source import Change, SourceDisconnected

log = logging.getLogger(__name__)

CS_CHANGES = "cs_changes"
#: The tables of the `supabase_realtime` publication (supabase/migrations/..._create_tables.sql).
PUBLISHED_TABLES: tuple[str, ...] = (
    "automation_config",
    "automation_status",
    "automation_commands",
    "automation_runs",
    "automation_logs",
    "identification_targets",
    "pipeline_businesses",
    "qualified_businesses",
    "outreach_events",
    "stripe_events",
    "admin_audit_log",
)
_OPS = frozenset({"INSERT", "UPDATE", "DELETE"})


@dataclass(frozen=True)
class Notice:
    """One raw NOTIFY as it arrived: the channel and its text payload."""

    channel: str
    payload: str


class BadNotice(ValueError):
    """A notice whose payload is not a change this source understands."""


def parse_change(notice: Notice) -> Change:
    """A `cs_changes` payload as a `Change`; any other channel as a one-row `NOTIFY` change.

    Raises `BadNotice` for anything malformed, so one bad payload never ends the feed.
    """
    try:
        data: Any = json.loads(notice.payload) if notice.payload else {}
    except ValueError as exc:
        raise BadNotice(f"{notice.channel}: payload is not JSON: {notice.payload[:80]!r}") from exc
    if not isinstance(data, dict):
        raise BadNotice(f"{notice.channel}: payload is not a JSON object: {notice.payload[:80]!r}")
    if notice.channel != CS_CHANGES:
        key = "id" if "id" in data else "qualified_business_id"
        return Change(table=notice.channel, op="NOTIFY", ids=[data.get(key)], n=1)
    table, op, ids, n = data.get("table"), data.get("op"), data.get("ids"), data.get("n")
    if not isinstance(table, str) or not table:
        raise BadNotice(f"cs_changes: 'table' missing or not text in {notice.payload[:80]!r}")
    if op not in _OPS:
        raise BadNotice(f"cs_changes: 'op' must be INSERT, UPDATE or DELETE, not {op!r}")
    if not isinstance(ids, list) or isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise BadNotice(f"cs_changes: 'ids' must be a list and 'n' a count in {data!r}")
    return Change(table=table, op=op, ids=ids, n=n)


class PostgresChangeSource:
    """A `ChangeSource` over LISTEN on a dedicated autocommit connection (reusable)."""

    def __init__(
        self,
        url: str,
        *,
        channels: Sequence[str] = (CS_CHANGES,),
        tables: Sequence[str] = PUBLISHED_TABLES,
        keepalive: float = 2.0,
        probe_timeout: float = 2.0,
        connect_timeout: int = 5,
    ) -> None:
        if not channels:
            raise ValueError("give at least one channel to LISTEN on, e.g. ('cs_changes',)")
        self.url = url
        self.channels = tuple(channels)
        self.tables = tuple(tables)
        self.keepalive = keepalive
        self.probe_timeout = probe_timeout
        self.connect_timeout = connect_timeout
        #: The listening backend's pid (for pg_terminate_backend in drills and tests).
        self.backend_pid: int | None = None
        #: Malformed notices skipped so far.
        self.bad_notices = 0
        self._conn: psycopg.AsyncConnection[Any] | None = None

    async def connect(self) -> None:
        await self.close()
        try:
            conn = await psycopg.AsyncConnection.connect(
                self.url,
                autocommit=True,
                connect_timeout=self.connect_timeout,
                application_name="cliftonsites-live",
                keepalives=1,
                keepalives_idle=5,
                keepalives_interval=2,
                keepalives_count=2,
            )
        except (psycopg.Error, OSError) as exc:
            raise SourceDisconnected(f"cannot open the LISTEN connection: {exc}") from exc
        try:
            for channel in self.channels:
                await conn.execute(sql.SQL("listen {}").format(sql.Identifier(channel)))
        except (psycopg.Error, OSError) as exc:
            await conn.close()
            raise SourceDisconnected(f"LISTEN failed: {exc}") from exc
        self._conn = conn
        self.backend_pid = conn.info.backend_pid

    async def notices(self) -> AsyncIterator[Notice]:
        """Every NOTIFY on the listened channels; `SourceDisconnected` when the link drops."""
        conn = self._conn
        if conn is None or conn.closed:
            raise SourceDisconnected("the LISTEN connection is not open: call connect() first")
        try:
            while True:
                idle = True
                async for notify in conn.notifies(timeout=self.keepalive):
                    idle = False
                    yield Notice(notify.channel, notify.payload)
                if idle:
                    await self._probe(conn)
        except SourceDisconnected:
            raise
        except (psycopg.Error, OSError) as exc:
            raise SourceDisconnected(f"the LISTEN connection dropped: {exc}") from exc

    async def _probe(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """`select 1` within `probe_timeout`, or the connection counts as dead."""
        probe = asyncio.ensure_future(conn.execute("select 1"))
        done, _ = await asyncio.wait({probe}, timeout=self.probe_timeout)
        if not done:
            # Close the socket before cancelling: psycopg answers the cancellation of a
            # running query by asking the (unreachable) server to cancel, for up to 10 s.
            await self.close()
            probe.cancel()
            await asyncio.gather(probe, return_exceptions=True)
            raise SourceDisconnected(
                f"the LISTEN connection did not answer a probe within {self.probe_timeout} s"
            )
        probe.result()

    async def changes(self) -> AsyncIterator[Change]:
        async for notice in self.notices():
            try:
                yield parse_change(notice)
            except BadNotice as exc:
                self.bad_notices += 1
                log.warning("skipping a malformed notice: %s", exc)

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.closed:
            try:
                await conn.close()
            except (psycopg.Error, OSError) as exc:
                log.debug("closing the LISTEN connection: %s", exc)
