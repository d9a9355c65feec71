"""Serialising work on one Stripe event or one business, across every app instance.

A PostgreSQL session advisory lock is held on one pooled connection for the whole of
the work, and *all* of that work's database calls run on that same connection
(`PinnedBackend`). So a processor never waits for a second pool connection while it
holds a lock, and copies of an event that arrive at the same moment simply queue
behind the first. A crashed process drops its connection, and with it the lock.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg

from dashboard.backends.postgres import AsyncConn, PostgresBackend


class LockBusy(RuntimeError):
    """Another delivery is still working on this event; the caller should retry later."""


class PinnedBackend(PostgresBackend):
    """A `PostgresBackend` whose calls all run, one transaction each, on one connection."""

    def __init__(self, parent: PostgresBackend, conn: AsyncConn) -> None:
        self.url = parent.url
        self._returns = parent._returns
        self.conn = conn

    async def open(self) -> PinnedBackend:
        return self

    async def close(self) -> None:
        return None

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[AsyncConn]:
        yield self.conn


async def _lock(conn: AsyncConn, key: str, wait_seconds: float) -> None:
    await conn.execute(
        "select set_config('lock_timeout', %s, false)", (f"{int(wait_seconds * 1000)}ms",)
    )
    try:
        await conn.execute("select pg_advisory_lock(hashtextextended(%s, 0))", (key,))
    except psycopg.errors.LockNotAvailable:
        raise LockBusy(f"{key} is being processed by another delivery; retry later") from None
    finally:
        await conn.execute("select set_config('lock_timeout', '0', false)")


@asynccontextmanager
async def locked(
    db: PostgresBackend, key: str, *, wait_seconds: float = 20.0
) -> AsyncIterator[PinnedBackend]:
    """Hold the lock named `key`; yield a backend pinned to the lock's connection."""
    if isinstance(db, PinnedBackend):
        await _lock(db.conn, key, wait_seconds)
        try:
            yield db
        finally:
            with contextlib.suppress(psycopg.Error):
                await db.conn.execute("select pg_advisory_unlock(hashtextextended(%s, 0))", (key,))
        return
    async with (
        db.pool.connection() as conn,
        locked(PinnedBackend(db, conn), key, wait_seconds=wait_seconds) as pinned,
    ):
        yield pinned
