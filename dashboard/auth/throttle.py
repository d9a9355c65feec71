"""Throttling of failed passwords and codes, per account and per address, in the database.

Each attempt first *reserves* a row in `admin_private.auth_failures` for every key it
counts against, under a transaction-scoped advisory lock per key. The reservation is
refused when a key already holds its limit of rows inside its sliding window, so even
20 concurrent guesses cannot go past the limit. A successful attempt deletes its rows;
a failed one keeps them as failures. Counts live in the database, so every app
instance sees the same numbers.

Limits (why these numbers: see docs/auth.md):
- per address: 10 failures per 15 minutes (an IPv6 address counts by its /64);
- per account: 20 failures per 15 minutes, so at most 80 an hour, under the 100 cap.
The account window is short: an attacker who spreads guesses over many addresses can
hold the account shut only while attacking, and for 15 minutes after at most.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from dashboard.auth.provider import AuthError, Clock, system_clock
from dashboard.backends.postgres import PostgresBackend

Kind = Literal["password", "code"]


@dataclass(frozen=True)
class Limit:
    scope: Literal["account", "address"]
    max_failures: int
    window: timedelta


ADDRESS_LIMIT = Limit("address", 10, timedelta(minutes=15))
ACCOUNT_LIMIT = Limit("account", 20, timedelta(minutes=15))
_KEEP = timedelta(days=1)


class Throttled(AuthError):
    """Too many failures; `retry_at` says when the next attempt is possible."""

    def __init__(self, retry_at: datetime, now: datetime, scope: str) -> None:
        minutes = max(1, int((retry_at - now).total_seconds() + 59) // 60)
        super().__init__(
            f"Too many failed attempts. Try again at {retry_at:%H:%M} UTC"
            f" (in {minutes} minute{'s' if minutes != 1 else ''})."
        )
        self.retry_at = retry_at
        self.scope = scope


def address_key(ip: str | None) -> str:
    """`address:<ip>`, with IPv6 grouped by /64 (one host usually owns the whole /64)."""
    if not ip:
        return "address:unknown"
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return "address:unknown"
    if addr.version == 6:
        return f"address:{ipaddress.ip_network(f'{addr}/64', strict=False)}"
    return f"address:{addr}"


def account_key(email: str) -> str:
    return f"account:{email.strip().lower()}"


@dataclass(frozen=True)
class Reservation:
    ids: tuple[int, ...]


class Throttle:
    def __init__(
        self,
        db: PostgresBackend,
        *,
        clock: Clock = system_clock,
        account: Limit = ACCOUNT_LIMIT,
        address: Limit = ADDRESS_LIMIT,
    ) -> None:
        self.db = db
        self.clock = clock
        self.limits = {"account": account, "address": address}

    async def reserve(self, email: str, ip: str | None, kind: Kind) -> Reservation:
        """Reserve one attempt for the account and the address, or raise `Throttled`."""
        now = self.clock()
        keys = sorted(
            [
                (account_key(email), self.limits["account"]),
                (address_key(ip), self.limits["address"]),
            ]
        )
        ids: list[int] = []
        async with self.db.owner() as conn:
            for key, _ in keys:
                await conn.execute("select pg_advisory_xact_lock(hashtextextended(%s, 7))", (key,))
            blocked: list[tuple[datetime, str]] = []
            for key, limit in keys:
                cur = await conn.execute(
                    "select at from admin_private.auth_failures where key = %s and at > %s"
                    " order by at desc limit %s",
                    (key, now - limit.window, limit.max_failures),
                )
                rows = await cur.fetchall()
                if len(rows) >= limit.max_failures:
                    blocked.append((rows[-1]["at"] + limit.window, limit.scope))
            if blocked:
                retry_at, scope = max(blocked)
                raise Throttled(retry_at, now, scope)
            for key, _ in keys:
                cur = await conn.execute(
                    "insert into admin_private.auth_failures (key, kind, at) values (%s, %s, %s)"
                    " returning id",
                    (key, kind, now),
                )
                row = await cur.fetchone()
                assert row is not None
                ids.append(row["id"])
            await conn.execute(
                "delete from admin_private.auth_failures where id in (select id from"
                " admin_private.auth_failures where at < %s limit 200)",
                (now - _KEEP,),
            )
        return Reservation(tuple(ids))

    async def succeeded(self, reservation: Reservation) -> None:
        async with self.db.owner() as conn:
            await conn.execute(
                "delete from admin_private.auth_failures where id = any(%s)",
                (list(reservation.ids),),
            )

    async def failed(self, reservation: Reservation) -> list[str]:
        """Keep the reserved rows as failures; return the scopes this failure locked."""
        now = self.clock()
        locked: list[str] = []
        async with self.db.owner() as conn:
            cur = await conn.execute(
                "update admin_private.auth_failures set pending = false where id = any(%s)"
                " returning key",
                (list(reservation.ids),),
            )
            for row in await cur.fetchall():
                limit = self.limits["account" if row["key"].startswith("account:") else "address"]
                count = await conn.execute(
                    "select count(*) as n from admin_private.auth_failures"
                    " where key = %s and at > %s",
                    (row["key"], now - limit.window),
                )
                found = await count.fetchone()
                if found is not None and found["n"] == limit.max_failures:
                    locked.append(limit.scope)
        return locked

    async def clear(self, email: str) -> int:
        """Forget an account's failures (the operator's `admin unlock`)."""
        async with self.db.owner() as conn:
            cur = await conn.execute(
                "delete from admin_private.auth_failures where key = %s", (account_key(email),)
            )
            return cur.rowcount
