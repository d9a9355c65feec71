"""The LISTEN/NOTIFY change source: one dedicated psycopg connection per process.

The local bootstrap's statement-level triggers send `{"table", "op", "ids", "n"}` on
channel `cs_changes` for every table of the `supabase_realtime` publication; this
source turns those notices into `Change`s for the bus. Other channels
(`automation_commands`, `outreach_start`) can be listened to as well, for the worker
and the outreach sweeper, through `notices()`.

A dropped connection surfaces as `SourceDisconnected` promptly: a terminated backend
ends the socket at once, and a silent one (a dead network path) is caught by a
probe query after every idle `keepalive` seconds, bounded by `probe_timeout`.

Coalesced tables (`COALESCED_TABLES`, UPDATE on pipeline_businesses: the claim path)
NOTIFY at most once per window, so that claiming transactions do not commit one at a
time behind PostgreSQL's NOTIFY lock (supabase/local/bootstrap.sql explains the
protocol). The statements that skipped their NOTIFY are covered here: `window` ms after
a notice marked `coalesce`, and on every idle probe, the source reads the skip counter
and tries the shared lock every coalescing transaction holds until it has committed.
When the lock is free and the counter moved, it yields one more change for the table
with no ids (`n` > `len(ids)`), so the bus re-reads the snapshot and row feeds reload.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
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
#: Tables whose NOTIFYs the local bootstrap coalesces (supabase/local/after_migrations.sql).
COALESCED_TABLES: tuple[str, ...] = ("pipeline_businesses",)
#: The skip counter first, then the coalescing lock tried without waiting (released at
#: the end of this autocommit statement). Also the liveness probe.
COALESCE_CHECK = (
    "select s.skipped, pg_catalog.pg_try_advisory_xact_lock(7453, 1) as quiet from ("
    " select case when pg_catalog.has_sequence_privilege(q.seq, 'select')"
    " then coalesce(pg_catalog.pg_sequence_last_value(q.seq), 0) end as skipped"
    " from (select pg_catalog.to_regclass('realtime.cs_coalesce_skipped') as seq) q"
    " offset 0) s"
)
#: How long to wait before trying the coalescing lock again while it is held.
RECHECK_SECONDS = 0.05


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
        #: Trailing changes yielded for coalesced NOTIFYs.
        self.trailing_changes = 0
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._covered = 0  # skip counter value whose statements are known to be visible
        self._due: float | None = None  # monotonic time of the next coalescing check

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
        # Skipped statements that committed by now are in the snapshot the bus reads
        # after connecting; any still open need one trailing change once they commit.
        try:
            row = await self._fetch_check(conn)
        except (psycopg.Error, OSError) as exc:
            await self.close()
            raise SourceDisconnected(f"the coalescing check failed: {exc}") from exc
        skipped, quiet = (row[0], row[1]) if row else (None, True)
        self._covered = (skipped or 0) if quiet else -1
        self._due = None if quiet else time.monotonic() + RECHECK_SECONDS

    async def notices(self) -> AsyncIterator[Notice]:
        """Every NOTIFY on the listened channels; `SourceDisconnected` when the link drops."""
        conn = self._conn
        if conn is None or conn.closed:
            raise SourceDisconnected("the LISTEN connection is not open: call connect() first")
        try:
            while True:
                idle = True
                # one packet per call, so a window that a notice opens is honoured
                async for notify in conn.notifies(timeout=self._wait(), stop_after=1):
                    idle = False
                    self._note(notify.payload)
                    yield Notice(notify.channel, notify.payload)
                due = self._due is not None and time.monotonic() >= self._due
                if idle or due:
                    for table in await self._check(conn):
                        self.trailing_changes += 1
                        payload = {"table": table, "op": "UPDATE", "ids": [], "n": 1}
                        yield Notice(CS_CHANGES, json.dumps(payload))
        except SourceDisconnected:
            raise
        except (psycopg.Error, OSError) as exc:
            raise SourceDisconnected(f"the LISTEN connection dropped: {exc}") from exc

    def _wait(self) -> float:
        if self._due is None:
            return self.keepalive
        return min(self.keepalive, max(0.0, self._due - time.monotonic()))

    def _note(self, payload: str) -> None:
        """A notice marked `coalesce`: check for skipped statements after its window."""
        if '"coalesce"' not in payload:
            return
        try:
            window = float(json.loads(payload)["coalesce"]) / 1000
        except (ValueError, KeyError, TypeError):
            return
        due = time.monotonic() + window + 0.005
        self._due = due if self._due is None else max(self._due, due)

    async def _check(self, conn: psycopg.AsyncConnection[Any]) -> tuple[str, ...]:
        """The probe, which also settles coalesced NOTIFYs: the tables to re-read."""
        row = await self._probe(conn)
        skipped, quiet = (row[0], row[1]) if row else (None, True)
        if skipped is None:  # no coalescing on this database
            self._due = None
            return ()
        if not quiet:  # a counted statement is still open: look again shortly
            self._due = time.monotonic() + RECHECK_SECONDS
            return ()
        self._due = None
        changed, self._covered = skipped != self._covered, skipped
        return COALESCED_TABLES if changed else ()

    async def _probe(self, conn: psycopg.AsyncConnection[Any]) -> tuple[Any, ...] | None:
        """`COALESCE_CHECK` within `probe_timeout`, or the connection counts as dead."""
        probe = asyncio.ensure_future(self._fetch_check(conn))
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
        return probe.result()

    @staticmethod
    async def _fetch_check(conn: psycopg.AsyncConnection[Any]) -> tuple[Any, ...] | None:
        cur = await conn.execute(COALESCE_CHECK)
        return await cur.fetchone()

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
