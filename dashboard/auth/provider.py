"""The auth provider protocol: who checks passwords and TOTP factors.

Two providers sit behind it:

- `LocalAuthProvider` (`dashboard/auth/local.py`) for the embedded and `DATABASE_URL`
  modes, over the Supabase-shaped `auth.users` and `auth.mfa_factors`;
- a Supabase provider (Supabase mode), built on `supabase-auth`:
  `sign_in_with_password`, `mfa.enroll` / `challenge` / `verify` / `list_factors` /
  `unenroll`, `get_authenticator_assurance_level`.

A provider only answers "is this the password?" and "is this code right for this
factor?". Everything else stays ours and provider-independent, in `admin_private`:
our session cookie and its registry, throttling, recovery codes and the audit trail
(`dashboard/auth/service.py`). So a provider must NOT count failures, set cookies or
write audit rows.

Contract, method by method (all async; "identity" is what `sign_in_with_password`
returned, possibly updated by `verify`):

- `sign_in_with_password(email, password) -> Identity`; raises `InvalidCredentials`
  for an unknown email, a wrong password or a banned user (one message for all, so
  the answer does not reveal which). `Identity.provider_state` is an opaque dict the
  provider wants back on later calls (e.g. Supabase's access and refresh tokens); the
  service stores it Fernet-encrypted in the session row and passes it back.
- `list_factors(identity) -> list[Factor]`: TOTP factors, verified or not.
- `enroll(identity, friendly_name=...) -> Enrollment`: a new *unverified* TOTP factor,
  with its base32 secret and `otpauth://` URI (the page draws the QR code itself).
- `verify(identity, factor_id, code) -> Identity`: challenge + verify in one. A right
  code on an unverified factor verifies it and removes the user's other factors (this
  is how re-enrolment replaces a factor). Raises `InvalidCode` for a wrong code and
  `ReplayedCode` for a code of a time step already accepted (each code works once;
  drift of ±1 step allowed). Returns the identity at aal2.
- `unenroll(identity, factor_id)`: remove a factor.
- `get_authenticator_assurance_level(identity) -> AssuranceLevel`: `current_level`
  of this identity and `next_level` it can reach (aal2 once a verified factor exists).

Anything time-dependent takes a `clock` (a callable returning an aware `datetime`) in
its constructor, so tests can freeze and move time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, runtime_checkable

Aal = Literal["aal1", "aal2"]
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


class AuthError(Exception):
    """A refusal the admin may read: the message says what to do."""


class InvalidCredentials(AuthError):
    def __init__(self) -> None:
        super().__init__("Wrong email or password.")


class InvalidCode(AuthError):
    def __init__(
        self, message: str = "That code is not right. Check your authenticator app."
    ) -> None:
        super().__init__(message)


class ReplayedCode(InvalidCode):
    def __init__(self) -> None:
        super().__init__("That code was already used. Wait for the next code and try again.")


@dataclass(frozen=True)
class Identity:
    user_id: str
    email: str
    provider_state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Factor:
    id: str
    status: Literal["unverified", "verified"]
    friendly_name: str | None
    created_at: datetime


@dataclass(frozen=True)
class Enrollment:
    factor_id: str
    secret: str
    uri: str


@dataclass(frozen=True)
class AssuranceLevel:
    current_level: Aal
    next_level: Aal


@runtime_checkable
class AuthProvider(Protocol):
    name: str

    async def sign_in_with_password(self, email: str, password: str) -> Identity: ...

    async def list_factors(self, identity: Identity) -> list[Factor]: ...

    async def enroll(self, identity: Identity, *, friendly_name: str = ...) -> Enrollment: ...

    async def verify(self, identity: Identity, factor_id: str, code: str) -> Identity: ...

    async def unenroll(self, identity: Identity, factor_id: str) -> None: ...

    async def get_authenticator_assurance_level(self, identity: Identity) -> AssuranceLevel: ...
