"""The Supabase auth provider: Supabase Auth (GoTrue) through `supabase-auth`.

It implements `AuthProvider` (see `provider.py`). supabase-auth's client holds one
session at a time, so every call builds a short-lived client over the shared httpx
client, seeded with the identity's session (kept in `Identity.provider_state`,
which the auth service stores encrypted). Nothing is signed in on the data
backend's client: that one stays on the service-role key.

Supabase Auth does not remember which TOTP time step it last accepted, so a code
seen by someone else could be used again within its 90 s window. `StepGuard`
closes that gap in `admin_private.totp_steps`: after Supabase accepts a code, the
wall-clock time step is claimed atomically, and a second acceptance within two
steps is refused as `ReplayedCode` (the admin waits for the next code).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from supabase_auth import AsyncGoTrueClient, AsyncMemoryStorage
from supabase_auth.constants import STORAGE_KEY
from supabase_auth.errors import AuthError as GoTrueError
from supabase_auth.errors import AuthRetryableError, AuthSessionMissingError
from supabase_auth.helpers import decode_jwt
from supabase_auth.types import Session

from dashboard.auth.provider import (
    AssuranceLevel,
    AuthError,
    Clock,
    Enrollment,
    Factor,
    Identity,
    InvalidCode,
    InvalidCredentials,
    ReplayedCode,
    system_clock,
)
from dashboard.backends.base import Caller
from dashboard.backends.postgres import PostgresBackend
from dashboard.settings import Settings

STEP_SECONDS = 30
#: Only users whose `app_metadata` carries this flag are admins (set with the service
#: role or SQL; users cannot change their own app_metadata). See docs/supabase.md.
ADMIN_FLAG = "cliftonsites_admin"
_CREDENTIALS = {"invalid_credentials", "user_banned", "user_not_found", "validation_failed"}
_SESSION_OVER = {
    "session_not_found",
    "session_expired",
    "refresh_token_not_found",
    "refresh_token_already_used",
    "bad_jwt",
    "no_authorization",
}
_MESSAGES = {
    "mfa_verification_failed": "That code is not right. Check your authenticator app.",
    "mfa_challenge_expired": "The code came too late for its challenge: enter the current code.",
    "mfa_factor_not_found": "This authenticator is no longer enrolled. Sign in again.",
    "insufficient_aal": "This needs a verified second factor: enter a code from your app first.",
    "email_not_confirmed": "This email address is not confirmed yet: confirm it first"
    " (Supabase dashboard > Authentication > Users).",
    "mfa_totp_enroll_not_enabled": "TOTP MFA is switched off in this Supabase project:"
    " enable it under Authentication > Multi-Factor (docs/supabase.md).",
    "mfa_factor_name_conflict": "An authenticator with this name exists already.",
}
_SESSION_MESSAGE = "Your Supabase session has ended. Sign in again."


def to_auth_error(exc: GoTrueError) -> AuthError:
    """A GoTrue error as the message an admin can act on."""
    code = str(exc.code or "")
    if code in _CREDENTIALS:
        return InvalidCredentials()
    if code in {"mfa_verification_failed", "mfa_challenge_expired", "mfa_factor_not_found"}:
        return InvalidCode(_MESSAGES[code])
    if code in _MESSAGES:
        return AuthError(_MESSAGES[code])
    if code in _SESSION_OVER or isinstance(exc, AuthSessionMissingError):
        return AuthError(_SESSION_MESSAGE)
    if code.startswith("over_") or getattr(exc, "status", 0) == 429:
        return AuthError("Supabase Auth is limiting requests: wait a minute and try again.")
    if isinstance(exc, AuthRetryableError):
        return AuthError(f"Supabase Auth could not be reached ({exc.message}): try again.")
    return AuthError(f"Supabase Auth refused the request: {exc.message}")


class StepGuard:
    """Each accepted code once: claims the wall-clock TOTP step per factor, atomically."""

    _CLAIM = """
    insert into admin_private.totp_steps as t (factor_id, user_id, last_step, updated_at)
    values (%(factor_id)s, %(user_id)s, %(step)s, %(now)s)
    on conflict (factor_id) do update
       set last_step = excluded.last_step, updated_at = excluded.updated_at
     where t.last_step + 2 < excluded.last_step
    returning t.last_step
    """

    def __init__(self, db: PostgresBackend, *, clock: Clock = system_clock) -> None:
        self.db = db
        self.clock = clock

    async def claim(self, user_id: str, factor_id: str) -> bool:
        now = self.clock()
        step = int(now.timestamp()) // STEP_SECONDS
        params = {"factor_id": factor_id, "user_id": user_id, "step": step, "now": now}
        async with self.db.owner() as conn:
            cur = await conn.execute(self._CLAIM, params)
            return await cur.fetchone() is not None

    async def forget(self, factor_id: str) -> None:
        async with self.db.owner() as conn:
            await conn.execute(
                "delete from admin_private.totp_steps where factor_id = %s", (factor_id,)
            )


def identity_of(session: Session) -> Identity:
    state = {"session": session.model_dump(mode="json"), "aal": aal_of(session)}
    return Identity(user_id=session.user.id, email=session.user.email or "", provider_state=state)


def aal_of(session: Session) -> str:
    return str(decode_jwt(session.access_token)["payload"].get("aal") or "aal1")


class SupabaseAuthProvider:
    """`AuthProvider` over a Supabase project's Auth (GoTrue) API."""

    name = "supabase"

    def __init__(
        self,
        project_url: str,
        anon_key: str,
        guard: StepGuard,
        *,
        http: httpx.AsyncClient | None = None,
        issuer: str = "CliftonSites",
        require_admin_flag: bool = True,
    ) -> None:
        self.auth_url = project_url.rstrip("/") + "/auth/v1"
        self.anon_key = anon_key
        self.guard = guard
        self.http = http or httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=5.0))
        self.issuer = issuer
        self.require_admin_flag = require_admin_flag
        #: Latest session per user (tokens rotate on refresh), for `access_token_for`.
        self._latest: dict[str, Session] = {}

    @classmethod
    def from_settings(
        cls, settings: Settings, db: PostgresBackend, **options: Any
    ) -> SupabaseAuthProvider:
        settings.require("SUPABASE_URL", "SUPABASE_ANON_KEY")
        assert settings.supabase_url and settings.supabase_anon_key
        return cls(settings.supabase_url, settings.supabase_anon_key, StepGuard(db), **options)

    async def close(self) -> None:
        await self.http.aclose()

    def _client(self, storage: AsyncMemoryStorage) -> AsyncGoTrueClient:
        headers = {"apikey": self.anon_key, "Authorization": f"Bearer {self.anon_key}"}
        return AsyncGoTrueClient(
            url=self.auth_url, headers=headers, http_client=self.http, storage=storage,
            persist_session=True, auto_refresh_token=False,
        )  # fmt: skip

    @asynccontextmanager
    async def _as(self, identity: Identity | None) -> AsyncIterator[AsyncGoTrueClient]:
        """A client holding `identity`'s session (refreshed by GoTrue when expired)."""
        storage = AsyncMemoryStorage()
        session = self._session_of(identity) if identity else None
        if session is not None:
            await storage.set_item(STORAGE_KEY, session.model_dump_json())
        try:
            yield self._client(storage)
        except GoTrueError as exc:
            raise to_auth_error(exc) from exc
        # Only a call that went through may update the cached session (a refused replay
        # must not leave its aal2 token behind).
        stored = await storage.get_item(STORAGE_KEY)
        if stored:
            latest = Session.model_validate_json(stored)
            known = self._latest.get(latest.user.id)
            # a password-only sign-in elsewhere must not replace an aal2 session that is
            # still valid: the admin's data calls (`access_token_for`) would lose aal2
            if (
                known is None
                or aal_of(known) != "aal2"
                or aal_of(latest) == "aal2"
                or (known.expires_at or 0) <= time.time()
            ):
                self._latest[latest.user.id] = latest

    def _session_of(self, identity: Identity) -> Session:
        raw = identity.provider_state.get("session")
        if not raw:
            raise AuthError(_SESSION_MESSAGE)
        session = Session.model_validate(raw)
        newer = self._latest.get(identity.user_id)
        # only a refreshed session of the same assurance stands in for this one: one that
        # assures less (a later password-only sign-in) or more (another browser's code)
        # belongs to another sign-in
        if (
            newer
            and (newer.expires_at or 0) > (session.expires_at or 0)
            and aal_of(newer) == aal_of(session)
        ):
            return newer
        return session

    async def access_token_for(self, caller: Caller) -> str | None:
        """The latest access token of an authenticated caller (SupabaseBackend's lookup)."""
        session = self._latest.get(caller.sub or "")
        return session.access_token if session else None

    async def sign_in_with_password(self, email: str, password: str) -> Identity:
        async with self._as(None) as client:  # refusals inside leave no cached session
            response = await client.sign_in_with_password(
                {"email": email.strip(), "password": password}
            )
            session = response.session
            if session is None:
                raise AuthError("Supabase Auth gave no session for this password: try again.")
            if self.require_admin_flag and session.user.app_metadata.get(ADMIN_FLAG) is not True:
                raise InvalidCredentials()  # a project user who is not an admin learns no more
        return identity_of(session)

    async def list_factors(self, identity: Identity) -> list[Factor]:
        async with self._as(identity) as client:
            listed = await client.mfa.list_factors()
        return [
            Factor(f.id, f.status, f.friendly_name, f.created_at)
            for f in listed.all
            if f.factor_type == "totp"
        ]

    async def enroll(
        self, identity: Identity, *, friendly_name: str = "Authenticator app"
    ) -> Enrollment:
        factors = await self.list_factors(identity)
        async with self._as(identity) as client:
            for f in factors:  # abandoned attempts never pile up: one unverified at a time
                if f.status == "unverified":
                    await client.mfa.unenroll({"factor_id": f.id})
            taken = {f.friendly_name for f in factors if f.status == "verified"}
            name = friendly_name if friendly_name not in taken else f"{friendly_name} (new)"
            params = {"factor_type": "totp", "friendly_name": name, "issuer": self.issuer}
            enrolled = await client.mfa.enroll(params)  # type: ignore[arg-type]
        if enrolled.totp is None:
            raise AuthError("Supabase Auth enrolled a factor without a TOTP secret: try again.")
        return Enrollment(enrolled.id, enrolled.totp.secret, enrolled.totp.uri)

    async def verify(self, identity: Identity, factor_id: str, code: str) -> Identity:
        factors = await self.list_factors(identity)
        factor = next((f for f in factors if f.id == factor_id), None)
        if factor is None:
            raise InvalidCode(_MESSAGES["mfa_factor_not_found"])
        async with self._as(identity) as client:
            challenge = await client.mfa.challenge({"factor_id": factor_id})
            verified = await client.mfa.verify(
                {"factor_id": factor_id, "challenge_id": challenge.id, "code": code.strip()}
            )
            if not await self.guard.claim(identity.user_id, factor_id):
                raise ReplayedCode()
            if factor.status == "unverified":  # a re-enrolment replaces the old factor
                for other in factors:
                    if other.id != factor_id:
                        await client.mfa.unenroll({"factor_id": other.id})
        session = self._latest.get(identity.user_id)
        if session is None or session.access_token != verified.access_token:
            raise AuthError(_SESSION_MESSAGE)
        return identity_of(session)

    async def unenroll(self, identity: Identity, factor_id: str) -> None:
        async with self._as(identity) as client:
            await client.mfa.unenroll({"factor_id": factor_id})
        await self.guard.forget(factor_id)

    async def get_authenticator_assurance_level(self, identity: Identity) -> AssuranceLevel:
        async with self._as(identity) as client:
            level = await client.mfa.get_authenticator_assurance_level()
        current = "aal2" if level.current_level == "aal2" else "aal1"
        following = "aal2" if level.next_level == "aal2" else current
        return AssuranceLevel(current, following)  # type: ignore[arg-type]
