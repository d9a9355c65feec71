"""The session registry in `admin_private.sessions`: our own cookie, held only as a hash.

A session row is created with a one-time *handoff ticket* instead of a cookie token:
sign-in steps run in NiceGUI event handlers over the websocket, where no HTTP response
exists to set a cookie on. The handler navigates the browser to `/auth/complete?ticket=`,
an HTTP route that redeems the ticket (once, within 10 minutes, only from the browser
that earned it) and sets the cookie. Rotation (login, MFA) starts a new row and revokes
the old one, so a cookie from before a step is worth nothing after it.

Timeouts: 30 minutes idle and 12 hours absolute from the password step. Every check
reads the row, so a logout on one app instance is honoured by all of them at once.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dashboard.auth import crypto
from dashboard.auth.provider import Aal, AuthError, Clock, system_clock
from dashboard.backends.postgres import PostgresBackend

IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
#: Long enough to read and save the recovery codes shown before the handoff.
HANDOFF_TTL = timedelta(minutes=10)
#: last_seen_at is written at most this often, so page loads do not all write.
TOUCH_EVERY = timedelta(seconds=60)

_COLUMNS = (
    "id::text, user_id::text, email, aal, factor_id::text, authenticated_at, created_at,"
    " last_seen_at, expires_at, provider_state"
)
#: A live session of one admin (params: user id, now, now - idle): not revoked, holding a
#: cookie token, within both timeouts.
_LIVE_OF_USER = (
    "user_id = %s and revoked_at is null and token_hash is not null and expires_at > %s"
    " and last_seen_at > %s"
)


class SessionEnded(AuthError):
    def __init__(self) -> None:
        super().__init__("Your sign-in expired or was ended. Sign in again.")


@dataclass(frozen=True)
class AdminSession:
    id: str
    user_id: str
    email: str
    aal: Aal
    factor_id: str | None
    authenticated_at: datetime
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    provider_state: str | None = None

    @property
    def is_aal2(self) -> bool:
        return self.aal == "aal2"


@dataclass(frozen=True)
class SessionListing:
    """One live session as the security page lists it."""

    id: str
    created_at: datetime
    last_seen_at: datetime
    ip: str | None
    user_agent: str | None


@dataclass(frozen=True)
class Handoff:
    """A one-time ticket that `/auth/complete` turns into the session cookie."""

    ticket: str
    session_id: str


def _session(row: dict[str, Any]) -> AdminSession:
    return AdminSession(**row)


class SessionStore:
    def __init__(
        self,
        db: PostgresBackend,
        *,
        clock: Clock = system_clock,
        idle: timedelta = IDLE_TIMEOUT,
        absolute: timedelta = ABSOLUTE_TIMEOUT,
    ) -> None:
        self.db = db
        self.clock = clock
        self.idle = idle
        self.absolute = absolute

    async def start(
        self,
        *,
        user_id: str,
        email: str,
        aal: Aal,
        factor_id: str | None,
        binding: str | None,
        next_path: str,
        ip: str | None,
        user_agent: str | None,
        provider_state: str | None = None,
        rotated_from: AdminSession | None = None,
    ) -> Handoff:
        """A new session id with a handoff ticket; revokes the session it replaces."""
        now = self.clock()
        authenticated_at = rotated_from.authenticated_at if rotated_from else now
        expires_at = rotated_from.expires_at if rotated_from else now + self.absolute
        ticket = crypto.new_token()
        async with self.db.owner() as conn:
            if rotated_from is not None:
                await self._retire(conn, rotated_from.id, now)
            cur = await conn.execute(
                "insert into admin_private.sessions (user_id, email, aal, factor_id,"
                " authenticated_at, created_at, last_seen_at, expires_at, handoff_hash,"
                " handoff_expires_at, handoff_binding, handoff_next, rotated_from,"
                " provider_state, ip, user_agent) values (%s, %s, %s, %s, %s, %s, %s, %s,"
                " %s, %s, %s, %s, %s, %s, %s, %s) returning id::text",
                (
                    user_id,
                    email,
                    aal,
                    factor_id,
                    authenticated_at,
                    now,
                    now,
                    expires_at,
                    crypto.token_hash(ticket),
                    now + HANDOFF_TTL,
                    binding,
                    next_path,
                    rotated_from.id if rotated_from else None,
                    provider_state,
                    ip,
                    (user_agent or "")[:400],
                ),
            )
            row = await cur.fetchone()
        assert row is not None
        return Handoff(ticket, row["id"])

    async def _retire(self, conn: Any, session_id: str, now: datetime) -> None:
        """Revoke the session a rotation replaces; it must still be live at this moment."""
        cur = await conn.execute(
            "update admin_private.sessions set revoked_at = %s, revoked_reason = 'rotated',"
            " token_hash = null, handoff_hash = null where id = %s and revoked_at is null"
            " and token_hash is not null and expires_at > %s and last_seen_at > %s",
            (now, session_id, now, now - self.idle),
        )
        if cur.rowcount != 1:
            raise SessionEnded()

    async def redeem(self, ticket: str, binding: str | None) -> tuple[str, AdminSession, str]:
        """(cookie token, session, next path); raises LookupError for a spent or foreign ticket."""
        now = self.clock()
        token = crypto.new_token()
        async with self.db.owner() as conn:
            cur = await conn.execute(
                "update admin_private.sessions set token_hash = %s, handoff_hash = null"
                " where handoff_hash = %s and handoff_expires_at > %s and revoked_at is null"
                " and (handoff_binding is null or handoff_binding = %s)"
                f" returning {_COLUMNS}, handoff_next",
                (crypto.token_hash(token), crypto.token_hash(ticket), now, binding or ""),
            )
            row = await cur.fetchone()
        if row is None:
            raise LookupError("this sign-in link has expired or was already used")
        next_path = row.pop("handoff_next") or "/"
        return token, _session(row), next_path

    async def lookup(self, token: str | None, *, touch: bool = True) -> AdminSession | None:
        """The live session of a cookie token, or None (unknown, revoked, idle, expired)."""
        if not token:
            return None
        now = self.clock()
        async with self.db.owner() as conn:
            cur = await conn.execute(
                f"select {_COLUMNS} from admin_private.sessions where token_hash = %s"
                " and revoked_at is null and expires_at > %s and last_seen_at > %s",
                (crypto.token_hash(token), now, now - self.idle),
            )
            row = await cur.fetchone()
            if row is None:
                return None
            if touch and row["last_seen_at"] < now - TOUCH_EVERY:
                await conn.execute(
                    "update admin_private.sessions set last_seen_at = %s where id = %s",
                    (now, row["id"]),
                )
                row["last_seen_at"] = now
        return _session(row)

    async def live_ids(self, session_ids: Collection[str]) -> set[str]:
        """Which of `session_ids` are live now (not revoked, idle or expired), in one
        read; nothing is touched, so watching open pages never keeps a session alive."""
        if not session_ids:
            return set()
        now = self.clock()
        async with self.db.owner() as conn:
            cur = await conn.execute(
                "select id::text from admin_private.sessions where id = any(%s::uuid[])"
                " and revoked_at is null and token_hash is not null and expires_at > %s"
                " and last_seen_at > %s",
                (list(session_ids), now, now - self.idle),
            )
            return {row["id"] for row in await cur.fetchall()}

    async def revoke(self, session_id: str, reason: str) -> None:
        async with self.db.owner() as conn:
            await self._revoke(conn, "id = %s", (session_id,), reason, self.clock())

    async def revoke_all(self, user_id: str, reason: str) -> int:
        async with self.db.owner() as conn:
            return await self._revoke(conn, "user_id = %s", (user_id,), reason, self.clock())

    @staticmethod
    async def _revoke(
        conn: Any, where: str, values: tuple[str, ...], reason: str, now: datetime
    ) -> int:
        cur = await conn.execute(
            "update admin_private.sessions set revoked_at = %s, revoked_reason = %s,"
            f" token_hash = null, handoff_hash = null where {where} and revoked_at is null",
            (now, reason, *values),
        )
        return int(cur.rowcount)

    async def end_one(self, user_id: str, session_id: str, reason: str) -> bool:
        """Revoke `session_id` if it is a live session of `user_id` (never another
        admin's); whether one was ended."""
        async with self.db.owner() as conn:
            where, values = "id = %s::uuid and user_id = %s", (session_id, user_id)
            return bool(await self._revoke(conn, where, values, reason, self.clock()))

    async def listing_for(self, user_id: str) -> list[SessionListing]:
        """The live sessions of `user_id`, newest first, with where they came from."""
        now = self.clock()
        async with self.db.owner() as conn:
            cur = await conn.execute(
                "select id::text, created_at, last_seen_at, host(ip) as ip, user_agent"
                f" from admin_private.sessions where {_LIVE_OF_USER} order by created_at desc",
                (user_id, now, now - self.idle),
            )
            return [SessionListing(**r) for r in await cur.fetchall()]

    async def active_for(self, user_id: str) -> list[AdminSession]:
        now = self.clock()
        async with self.db.owner() as conn:
            cur = await conn.execute(
                f"select {_COLUMNS} from admin_private.sessions where {_LIVE_OF_USER}"
                " order by created_at desc",
                (user_id, now, now - self.idle),
            )
            return [_session(r) for r in await cur.fetchall()]
