"""The sign-in steps, provider-independent: password, second factor, enrolment,
step-up, recovery codes, logout. Pages and guards call these; nothing else decides
who is signed in.

Every step that succeeds returns a `Step` whose `url` the browser must open: the
`/auth/complete` route redeems the ticket and sets the rotated session cookie.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from dashboard.auth import crypto
from dashboard.auth.audit import RequestMeta, audit
from dashboard.auth.local import LocalAuthProvider
from dashboard.auth.provider import (
    AuthError,
    AuthProvider,
    Clock,
    Enrollment,
    Factor,
    Identity,
    InvalidCode,
    system_clock,
)
from dashboard.auth.recovery import RecoveryCodes
from dashboard.auth.sessions import AdminSession, Handoff, SessionStore
from dashboard.auth.throttle import Kind, Throttle, Throttled
from dashboard.backends.postgres import PostgresBackend


class NotAllowed(AuthError):
    """The session may not take this step (e.g. enrol while a factor exists)."""


@dataclass(frozen=True)
class Step:
    handoff: Handoff
    next_path: str
    #: set when a recovery code was spent for this step: how many are still unused
    recovery_codes_left: int | None = None

    @property
    def url(self) -> str:
        """Relative to the `/admin` mount, as `ui.navigate.to` expects."""
        return f"/auth/complete?ticket={quote(self.handoff.ticket)}"


def wrong_code_message(code: str, *, allow_recovery: bool) -> str:
    """Why a code that is neither a right app code nor a right recovery code was refused,
    in terms of what was typed: digits are an app code (6 of them), 10 letters and
    digits a recovery code."""
    digits = code.strip().replace(" ", "")
    if allow_recovery and len(crypto.normalize_recovery_code(code)) == 10:
        return "That recovery code is not right or was already used."
    if digits.isdigit():
        return f"An app code has 6 digits; that was {len(digits)}. Check your authenticator app."
    if allow_recovery:
        return (
            "Enter the 6-digit code from your authenticator app, or a recovery code"
            " (10 letters and digits, like abcde-23456)."
        )
    return "Enter the 6-digit code from your authenticator app."


def safe_next(path: str | None) -> str:
    """A post-login target that stays inside `/admin`; anything else becomes `/`."""
    if not path or not path.startswith("/") or path.startswith(("//", "/\\")):
        return "/"
    if any(ch in path for ch in "\\\r\n\t") or ":" in path.split("?", 1)[0]:
        return "/"
    if path.split("?", 1)[0] in {"/login", "/logout", "/mfa", "/setup-mfa", "/auth/complete"}:
        return "/"
    return path


class AuthService:
    def __init__(
        self,
        db: PostgresBackend,
        provider: AuthProvider,
        box: crypto.SecretBox,
        *,
        clock: Clock = system_clock,
    ) -> None:
        self.db = db
        self.provider = provider
        self.box = box
        self.clock = clock
        self.throttle = Throttle(db, clock=clock)
        self.sessions = SessionStore(db, clock=clock)
        self.recovery = RecoveryCodes(db, box, clock=clock)

    @classmethod
    def local(
        cls, db: PostgresBackend, secret_key: str, *, clock: Clock = system_clock
    ) -> AuthService:
        box = crypto.SecretBox(secret_key)
        return cls(db, LocalAuthProvider(db, box, clock=clock), box, clock=clock)

    # --- sessions ---------------------------------------------------------------
    async def current(self, token: str | None, *, touch: bool = True) -> AdminSession | None:
        return await self.sessions.lookup(token, touch=touch)

    async def redeem(self, ticket: str, binding: str | None) -> tuple[str, AdminSession, str]:
        return await self.sessions.redeem(ticket, binding)

    def identity(self, session: AdminSession) -> Identity:
        state: dict[str, Any] = {}
        if session.provider_state:
            state = json.loads(self.box.decrypt(session.provider_state))
        return Identity(session.user_id, session.email, state)

    def _seal(self, identity: Identity) -> str | None:
        return (
            self.box.encrypt(json.dumps(identity.provider_state))
            if identity.provider_state
            else None
        )

    async def verified_factor(self, session: AdminSession) -> Factor | None:
        factors = await self.provider.list_factors(self.identity(session))
        return next((f for f in factors if f.status == "verified"), None)

    # --- password step -----------------------------------------------------------
    async def login(
        self, email: str, password: str, meta: RequestMeta, *, next_path: str = "/"
    ) -> Step:
        email = email.strip()
        if not email or not password:
            raise AuthError("Enter your email and password.")
        reservation = await self._reserve(email, meta, "password", actor=None)
        try:
            identity = await self.provider.sign_in_with_password(email, password)
        except AuthError:
            await self._failed(reservation, email, meta, "login_failed", actor=None)
            raise
        await self.throttle.succeeded(reservation)
        factors = await self.provider.list_factors(identity)
        verified = next((f for f in factors if f.status == "verified"), None)
        step_path = "/mfa" if verified else "/setup-mfa"
        handoff = await self.sessions.start(
            user_id=identity.user_id,
            email=identity.email,
            aal="aal1",
            factor_id=verified.id if verified else None,
            binding=meta.binding,
            next_path=f"{step_path}?next={quote(safe_next(next_path), safe='/')}",
            ip=meta.ip,
            user_agent=meta.user_agent,
            provider_state=self._seal(identity),
        )
        await audit(
            self.db,
            "login",
            meta,
            actor_id=identity.user_id,
            actor_email=identity.email,
            details={"aal": "aal1", "next_step": step_path.strip("/")},
        )
        return Step(handoff, step_path)

    async def _reserve(self, email: str, meta: RequestMeta, kind: Kind, actor: str | None) -> Any:
        try:
            return await self.throttle.reserve(email, meta.ip, kind)
        except Throttled as exc:
            await audit(
                self.db,
                "login_throttled",
                meta,
                actor_id=actor,
                actor_email=email,
                details={"kind": kind, "scope": exc.scope, "retry_at": exc.retry_at.isoformat()},
            )
            raise

    async def _failed(
        self, reservation: Any, email: str, meta: RequestMeta, action: str, actor: str | None
    ) -> None:
        locked = await self.throttle.failed(reservation)
        await audit(self.db, action, meta, actor_id=actor, actor_email=email)
        for scope in locked:
            await audit(
                self.db,
                "lockout",
                meta,
                actor_id=actor,
                actor_email=email,
                details={"scope": scope},
            )

    # --- second factor -----------------------------------------------------------
    async def verify_second_factor(
        self, session: AdminSession, code: str, meta: RequestMeta, *, next_path: str = "/"
    ) -> Step:
        """A TOTP code or a recovery code; on success the session rotates to aal2."""
        factor = await self.verified_factor(session)
        if factor is None:
            raise NotAllowed("No authenticator is enrolled yet: set one up first.")
        identity, left = await self._check_code(session, factor, code, meta, allow_recovery=True)
        handoff = await self.sessions.start(
            user_id=session.user_id,
            email=session.email,
            aal="aal2",
            factor_id=factor.id,
            binding=meta.binding,
            next_path=safe_next(next_path),
            ip=meta.ip,
            user_agent=meta.user_agent,
            provider_state=self._seal(identity),
            rotated_from=session,
        )
        return Step(handoff, safe_next(next_path), recovery_codes_left=left)

    async def _check_code(
        self,
        session: AdminSession,
        factor: Factor,
        code: str,
        meta: RequestMeta,
        *,
        allow_recovery: bool,
        action: str = "mfa",
    ) -> tuple[Identity, int | None]:
        """The aal2 identity, and how many recovery codes are left when one was spent."""
        reservation = await self._reserve(session.email, meta, "code", actor=session.user_id)
        identity = self.identity(session)
        try:
            if crypto.looks_like_totp(code):
                identity = await self.provider.verify(
                    identity, factor.id, code.strip().replace(" ", "")
                )
                used = "mfa_verified" if action == "mfa" else action
            elif allow_recovery and await self.recovery.use(session.user_id, code):
                used = "recovery_code_used"
            else:
                raise InvalidCode(wrong_code_message(code, allow_recovery=allow_recovery))
        except InvalidCode:
            await self._failed(
                reservation, session.email, meta, f"{action}_failed", session.user_id
            )
            raise
        await self.throttle.succeeded(reservation)
        left = (
            await self.recovery.remaining(session.user_id) if used == "recovery_code_used" else None
        )
        details = {"remaining": left} if left is not None else {}
        await audit(
            self.db,
            used,
            meta,
            actor_id=session.user_id,
            actor_email=session.email,
            details=details,
        )
        return Identity(
            identity.user_id, identity.email, {**identity.provider_state, "aal": "aal2"}
        ), left

    async def step_up(self, session: AdminSession, code: str, meta: RequestMeta) -> None:
        """A fresh TOTP code for a dangerous action; raises `AuthError` when not right."""
        factor = await self.verified_factor(session)
        if factor is None or not session.is_aal2:
            raise NotAllowed("Sign in with your authenticator first.")
        await self._check_code(session, factor, code, meta, allow_recovery=False, action="step_up")

    # --- enrolment ---------------------------------------------------------------
    async def start_enrollment(
        self, session: AdminSession, meta: RequestMeta, current_code: str | None = None
    ) -> Enrollment:
        """A new unverified factor. Replacing an enrolled one needs aal2 and a fresh code."""
        factor = await self.verified_factor(session)
        if factor is not None:
            if not session.is_aal2:
                raise NotAllowed("An authenticator is already enrolled: enter its code instead.")
            await self.step_up(session, current_code or "", meta)
        return await self.provider.enroll(self.identity(session))

    async def confirm_enrollment(
        self,
        session: AdminSession,
        factor_id: str,
        code: str,
        meta: RequestMeta,
        *,
        next_path: str = "/",
    ) -> tuple[Step | None, list[str]]:
        """Verify a new factor's first code: (rotated step when coming from aal1, 10 new codes)."""
        existing = await self.verified_factor(session)
        if existing is not None and not session.is_aal2:
            raise NotAllowed("An authenticator is already enrolled: enter its code instead.")
        reservation = await self._reserve(session.email, meta, "code", actor=session.user_id)
        try:
            identity = await self.provider.verify(self.identity(session), factor_id, code.strip())
        except InvalidCode:
            await self._failed(reservation, session.email, meta, "mfa_failed", session.user_id)
            raise
        await self.throttle.succeeded(reservation)
        codes = await self.recovery.replace(session.user_id)
        await audit(
            self.db,
            "mfa_enrolled",
            meta,
            actor_id=session.user_id,
            actor_email=session.email,
            target=factor_id,
            details={"replaced": existing.id if existing else None},
        )
        if session.is_aal2:
            return None, codes
        handoff = await self.sessions.start(
            user_id=session.user_id,
            email=session.email,
            aal="aal2",
            factor_id=factor_id,
            binding=meta.binding,
            next_path=safe_next(next_path),
            ip=meta.ip,
            user_agent=meta.user_agent,
            provider_state=self._seal(identity),
            rotated_from=session,
        )
        return Step(handoff, safe_next(next_path)), codes

    async def regenerate_recovery_codes(
        self, session: AdminSession, code: str, meta: RequestMeta
    ) -> list[str]:
        await self.step_up(session, code, meta)
        codes = await self.recovery.replace(session.user_id)
        await audit(
            self.db,
            "recovery_codes_regenerated",
            meta,
            actor_id=session.user_id,
            actor_email=session.email,
        )
        return codes

    # --- ending sessions ---------------------------------------------------------
    async def logout(self, session: AdminSession, meta: RequestMeta) -> None:
        await self.sessions.revoke(session.id, "logout")
        await audit(self.db, "logout", meta, actor_id=session.user_id, actor_email=session.email)

    async def end_session(self, session: AdminSession, session_id: str, meta: RequestMeta) -> bool:
        """End one of the admin's own sessions (another browser's); audited. False when it
        is not theirs or already ended."""
        ended = await self.sessions.end_one(session.user_id, session_id, "ended_by_admin")
        if ended:
            await audit(
                self.db,
                "session_ended",
                meta,
                actor_id=session.user_id,
                actor_email=session.email,
                target=session_id,
            )
        return ended

    async def sign_out_everywhere(self, session: AdminSession, meta: RequestMeta) -> int:
        count = await self.sessions.revoke_all(session.user_id, "sign_out_everywhere")
        await audit(
            self.db,
            "sign_out_everywhere",
            meta,
            actor_id=session.user_id,
            actor_email=session.email,
            details={"sessions": count},
        )
        return count
