"""The contract between a change feed (LISTEN/NOTIFY or Supabase Realtime) and the bus.

A source knows how to connect and how to yield small change notices. It does not
retry: when the connection drops, `changes()` raises `SourceDisconnected`, and the
bus's supervisor reconnects (with backoff), re-fetches the snapshot and shows the
"reconnecting" banner meanwhile.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, TypedDict


class Change(TypedDict):
    """A small change notice: which table, which operation, up to 50 ids, row count."""

    table: str
    op: str  # INSERT, UPDATE, DELETE
    ids: list[object]
    n: int


class SourceDisconnected(ConnectionError):
    """The feed's connection dropped or its subscription was refused."""


class ChangeSource(Protocol):
    #: Tables this source watches (those in the supabase_realtime publication).
    tables: tuple[str, ...]

    async def connect(self) -> None:
        """Open the connection and subscribe; raise SourceDisconnected on failure."""

    def changes(self) -> AsyncIterator[Change]:
        """Yield notices as they arrive; raise SourceDisconnected when the feed drops."""
        ...

    async def close(self) -> None:
        """Release the connection; safe to call twice."""
