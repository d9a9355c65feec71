"""The Supabase auth provider against constructed Supabase Auth (GoTrue) traffic.

`FakeGoTrue` answers on an httpx.MockTransport the way GoTrue's API does (API
version 2024-01-01 error bodies `{code, message}`, sessions with JWTs whose `aal`
claim rises to aal2 after a verified code, TOTP checked for real with pyotp,
challenges that expire, aal2 required to remove a verified factor). The replay
guard runs on the real embedded PostgreSQL (`admin_private.totp_steps`).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pyotp
import pytest

from dashboard.auth.provider import (
    AuthError,
    AuthProvider,
    InvalidCode,
    InvalidCredentials,
    ReplayedCode,
)
from dashboard.auth.supabase_provider import StepGuard, SupabaseAuthProvider
from dashboard.backends.base import Caller
from dashboard.backends.postgres import PostgresBackend
from tests.clock import FakeClock

URL = "https://abcd.supabase.co"
EMAIL, PASSWORD = "owner@cliftonsites.test", "correct horse battery staple"
API_VERSION = {"X-Supabase-Api-Version": "2024-01-01"}


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def stamp() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class FakeGoTrue:
    """Supabase Auth for one user, answering as GoTrue's REST API does."""

    user_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    factors: dict[str, dict[str, Any]] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    challenges: dict[str, tuple[str, float]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # access token -> aal
    requests: list[httpx.Request] = field(default_factory=list)
    challenge_ttl: float = 300.0
    legacy_errors: bool = False
    later: int = 0  # seconds added to the expiry of the sessions it issues from now on
    app_metadata: dict[str, Any] = field(
        default_factory=lambda: {"provider": "email", "cliftonsites_admin": True}
    )

    def error(self, status: int, code: str, message: str) -> httpx.Response:
        if self.legacy_errors:
            return httpx.Response(status, json={"code": status, "error_code": code, "msg": message})
        return httpx.Response(status, json={"code": code, "message": message}, headers=API_VERSION)

    def user(self) -> dict[str, Any]:
        return {
            "id": self.user_id,
            "aud": "authenticated",
            "role": "authenticated",
            "email": EMAIL,
            "app_metadata": self.app_metadata,
            "user_metadata": {},
            "created_at": "2026-11-01T00:00:00Z",
            "factors": list(self.factors.values()),
        }

    def session(self, aal: str) -> dict[str, Any]:
        exp = int(time.time()) + 3600 + self.later
        claims = {"sub": self.user_id, "aal": aal, "exp": exp, "role": "authenticated"}
        claims["amr"] = [{"method": "password", "timestamp": exp - 3600}]
        token = f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64(claims)}.c2ln"
        self.tokens[token] = aal
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": 3600,
            "expires_at": exp,
            "refresh_token": uuid.uuid4().hex,
            "user": self.user(),
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.removeprefix("/auth/v1/")
        if path == "token":
            return self.token(request)
        aal = self.tokens.get(request.headers.get("authorization", "").removeprefix("Bearer "))
        if aal is None:
            return self.error(401, "bad_jwt", "invalid JWT: unable to parse or verify signature")
        if path == "user" and request.method == "GET":
            return httpx.Response(200, json=self.user(), headers=API_VERSION)
        parts = path.split("/")
        if parts == ["factors"]:
            return self.enroll(json.loads(request.content))
        if len(parts) == 2 and request.method == "DELETE":
            return self.unenroll(parts[1], aal)
        if len(parts) == 3 and parts[2] == "challenge":
            return self.challenge(parts[1])
        if len(parts) == 3 and parts[2] == "verify":
            return self.verify(parts[1], json.loads(request.content))
        return self.error(404, "not_found", f"no route {path}")

    def token(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if (body.get("email"), body.get("password")) != (EMAIL, PASSWORD):
            return self.error(400, "invalid_credentials", "Invalid login credentials")
        return httpx.Response(200, json=self.session("aal1"), headers=API_VERSION)

    def enroll(self, body: dict[str, Any]) -> httpx.Response:
        if any(f["friendly_name"] == body["friendly_name"] for f in self.factors.values()):
            return self.error(422, "mfa_factor_name_conflict", "A factor with this name exists")
        factor_id, secret = str(uuid.uuid4()), pyotp.random_base32()
        self.secrets[factor_id] = secret
        self.factors[factor_id] = {
            "id": factor_id,
            "friendly_name": body["friendly_name"],
            "factor_type": body["factor_type"],
            "status": "unverified",
            "created_at": stamp(),
            "updated_at": stamp(),
        }
        uri = pyotp.TOTP(secret).provisioning_uri(name=EMAIL, issuer_name=body["issuer"])
        totp = {
            "qr_code": "<svg xmlns='http://www.w3.org/2000/svg'/>",
            "secret": secret,
            "uri": uri,
        }
        reply = {
            "id": factor_id,
            "type": "totp",
            "friendly_name": body["friendly_name"],
            "totp": totp,
        }
        return httpx.Response(200, json=reply, headers=API_VERSION)

    def unenroll(self, factor_id: str, aal: str) -> httpx.Response:
        factor = self.factors.get(factor_id)
        if factor is None:
            return self.error(404, "mfa_factor_not_found", "Factor not found")
        if factor["status"] == "verified" and aal != "aal2":
            return self.error(403, "insufficient_aal", "AAL2 required to unenroll verified factor")
        del self.factors[factor_id]
        return httpx.Response(200, json={"id": factor_id}, headers=API_VERSION)

    def challenge(self, factor_id: str) -> httpx.Response:
        if factor_id not in self.factors:
            return self.error(404, "mfa_factor_not_found", "Factor not found")
        challenge_id = str(uuid.uuid4())
        self.challenges[challenge_id] = (factor_id, time.time() + self.challenge_ttl)
        reply = {"id": challenge_id, "type": "totp", "expires_at": int(time.time()) + 300}
        return httpx.Response(200, json=reply, headers=API_VERSION)

    def verify(self, factor_id: str, body: dict[str, Any]) -> httpx.Response:
        found = self.challenges.pop(body["challenge_id"], None)
        if found is None or found[0] != factor_id:
            return self.error(404, "mfa_factor_not_found", "Challenge not found")
        if found[1] < time.time():
            return self.error(422, "mfa_challenge_expired", "MFA challenge has expired")
        if not pyotp.TOTP(self.secrets[factor_id]).verify(body["code"], valid_window=1):
            return self.error(422, "mfa_verification_failed", "Invalid TOTP code entered")
        self.factors[factor_id]["status"] = "verified"
        return httpx.Response(200, json=self.session("aal2"), headers=API_VERSION)

    def code(self, factor_id: str) -> str:
        return pyotp.TOTP(self.secrets[factor_id]).now()

    def calls(self) -> list[str]:
        return [f"{r.method} {r.url.path.removeprefix('/auth/v1/')}" for r in self.requests]


@pytest.fixture
def gotrue(app_db_url: str) -> Iterator[FakeGoTrue]:
    fake = FakeGoTrue()
    with psycopg.connect(app_db_url, autocommit=True) as conn:
        conn.execute(
            "insert into auth.users (id, email, encrypted_password) values (%s, %s, 'n/a')",
            (fake.user_id, EMAIL),
        )
    yield fake


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def provider(
    gotrue: FakeGoTrue, app_db_url: str, clock: FakeClock
) -> AsyncIterator[SupabaseAuthProvider]:
    db = await PostgresBackend(app_db_url, max_size=2).open()
    http = httpx.AsyncClient(transport=httpx.MockTransport(gotrue))
    auth = SupabaseAuthProvider(URL, "anon-key", StepGuard(db, clock=clock), http=http)
    yield auth
    await auth.close()
    await db.close()


async def enrolled_and_verified(provider: SupabaseAuthProvider, gotrue: FakeGoTrue) -> Any:
    identity = await provider.sign_in_with_password(EMAIL, PASSWORD)
    enrollment = await provider.enroll(identity)
    return await provider.verify(identity, enrollment.factor_id, gotrue.code(enrollment.factor_id))


def test_it_satisfies_the_auth_provider_protocol(provider: SupabaseAuthProvider) -> None:
    assert isinstance(provider, AuthProvider)


async def test_it_signs_in_with_a_password_at_aal1(
    provider: SupabaseAuthProvider, gotrue: FakeGoTrue
) -> None:
    identity = await provider.sign_in_with_password(f"  {EMAIL} ", PASSWORD)
    assert (identity.user_id, identity.email) == (gotrue.user_id, EMAIL)
    assert identity.provider_state["aal"] == "aal1"
    sent = gotrue.requests[0]
    assert str(sent.url) == f"{URL}/auth/v1/token?grant_type=password"
    assert sent.headers["apikey"] == "anon-key"
    assert json.loads(sent.content)["email"] == EMAIL
    assert json.loads(sent.content)["password"] == PASSWORD


@pytest.mark.parametrize("legacy", [False, True])
async def test_a_wrong_password_or_unknown_email_reads_the_same(
    provider: SupabaseAuthProvider, gotrue: FakeGoTrue, legacy: bool
) -> None:
    gotrue.legacy_errors = legacy
    with pytest.raises(InvalidCredentials) as wrong:
        await provider.sign_in_with_password(EMAIL, "nope")
    with pytest.raises(InvalidCredentials) as unknown:
        await provider.sign_in_with_password("nobody@example.com", PASSWORD)
    assert str(wrong.value) == str(unknown.value) == "Wrong email or password."


async def test_a_project_user_without_the_admin_flag_is_refused(
    provider: SupabaseAuthProvider, gotrue: FakeGoTrue
) -> None:
    gotrue.app_metadata = {"provider": "email"}
    with pytest.raises(InvalidCredentials):
        await provider.sign_in_with_password(EMAIL, PASSWORD)
    assert await provider.access_token_for(Caller(role="authenticated", sub=gotrue.user_id)) is None


async def test_it_enrolls_a_totp_factor_with_secret_and_uri(
    provider: SupabaseAuthProvider, gotrue: FakeGoTrue
) -> None:
    identity = await provider.sign_in_with_password(EMAIL, PASSWORD)
    first = await provider.enroll(identity)
    second = await provider.enroll(identity, friendly_name="Authenticator app")
    assert second.uri.startswith("otpauth://totp/")
    assert "issuer=CliftonSites" in second.uri
    assert len(second.secret) >= 32
    assert list(gotrue.factors) == [second.factor_id]  # the abandoned one was removed
    assert f"DELETE factors/{first.factor_id}" in gotrue.calls()
    enroll = [r for r in gotrue.requests if r.url.path.endswith("/factors")][-1]
    assert json.loads(enroll.content) == {
        "friendly_name": "Authenticator app",
        "factor_type": "totp",
        "issuer": "CliftonSites",
    }
    assert (
        enroll.headers["authorization"]
        == f"Bearer {identity.provider_state['session']['access_token']}"
    )
    factors = await provider.list_factors(identity)
    assert [(f.id, f.status) for f in factors] == [(second.factor_id, "unverified")]


async def test_a_right_code_challenges_verifies_and_reaches_aal2(
    provider: SupabaseAuthProvider, gotrue: FakeGoTrue
) -> None:
    identity = await provider.sign_in_with_password(EMAIL, PASSWORD)
    before = await provider.get_authenticator_assurance_level(identity)
    assert (before.current_level, before.next_level) == ("aal1", "aal1")
    enrollment = await provider.enroll(identity)
    verified = await provider.verify(
        identity, enrollment.factor_id, gotrue.code(enrollment.factor_id)
    )
    assert verified.provider_state["aal"] == "aal2"
    assert gotrue.calls()[-3:] == [
        "GET user",
        f"POST factors/{enrollment.factor_id}/challenge",
        f"POST factors/{enrollment.factor_id}/verify",
    ]
    verify_body = json.loads(gotrue.requests[-1].content)
    assert verify_body["factor_id"] == enrollment.factor_id
    assert verify_body["code"] == gotrue.code(enrollment.factor_id)
    after = await provider.get_authenticator_assurance_level(verified)
    assert (after.current_level, after.next_level) == ("aal2", "aal2")
    token = await provider.access_token_for(Caller(role="authenticated", sub=gotrue.user_id))
    assert token == verified.provider_state["session"]["access_token"]


async def test_a_password_session_with_a_factor_must_still_reach_aal2(
    provider: SupabaseAuthProvider, gotrue: FakeGoTrue
) -> None:
    await enrolled_and_verified(provider, gotrue)
    again = await provider.sign_in_with_password(EMAIL, PASSWORD)
    level = await provider.get_authenticator_assurance_level(again)
    assert (level.current_level, level.next_level) == ("aal1", "aal2")


async def test_a_wrong_code_is_refused_and_the_identity_stays_at_aal1(
    provider: SupabaseAuthProvider, gotrue: FakeGoTrue
) -> None:
    identity = await provider.sign_in_with_password(EMAIL, PASSWORD)
    enrollment = await provider.enroll(identity)
    wrong = "000000" if gotrue.code(enrollment.factor_id) != "000000" else "111111"
    with pytest.raises(InvalidCode, match="not right"):
        await provider.verify(identity, enrollment.factor_id, wrong)
    assert gotrue.factors[enrollment.factor_id]["status"] == "unverified"
    assert (
        await provider.access_token_for(Caller(role="authenticated", sub=gotrue.user_id))
        == (identity.provider_state["session"]["access_token"])
    )


async def test_an_expired_challenge_asks_for_the_current_code(
    provider: SupabaseAuthProvider, gotrue: FakeGoTrue
) -> None:
    identity = await provider.sign_in_with_password(EMAIL, PASSWORD)
    enrollment = await provider.enroll(identity)
    gotrue.challenge_ttl = -1
    with pytest.raises(InvalidCode, match="too late"):
        await provider.verify(identity, enrollment.factor_id, gotrue.code(enrollment.factor_id))


async def test_the_same_code_twice_is_refused_as_a_replay_until_a_later_step(
    provider: SupabaseAuthProvider, gotrue: FakeGoTrue, clock: FakeClock
) -> None:
    identity = await provider.sign_in_with_password(EMAIL, PASSWORD)
    enrollment = await provider.enroll(identity)
    code = gotrue.code(enrollment.factor_id)
    await provider.verify(identity, enrollment.factor_id, code)
    clock.now += timedelta(seconds=30)
    with pytest.raises(ReplayedCode):
        await provider.verify(identity, enrollment.factor_id, code)
    clock.now += timedelta(seconds=61)
    again = await provider.verify(identity, enrollment.factor_id, gotrue.code(enrollment.factor_id))
    assert again.provider_state["aal"] == "aal2"


async def test_re_enrolment_replaces_the_old_factor_once_the_new_one_is_verified(
    provider: SupabaseAuthProvider, gotrue: FakeGoTrue, clock: FakeClock
) -> None:
    identity = await enrolled_and_verified(provider, gotrue)
    old = next(iter(gotrue.factors))
    replacement = await provider.enroll(identity)
    assert set(gotrue.factors) == {old, replacement.factor_id}
    assert gotrue.factors[replacement.factor_id]["friendly_name"] == "Authenticator app (new)"
    clock.now += timedelta(minutes=5)
    code = gotrue.code(replacement.factor_id)
    await provider.verify(identity, replacement.factor_id, code)
    assert list(gotrue.factors) == [replacement.factor_id]


@pytest.mark.parametrize("later", [0, 5], ids=["same second", "a later second"])
async def test_removing_a_verified_factor_at_aal1_needs_aal2(
    provider: SupabaseAuthProvider, gotrue: FakeGoTrue, later: int
) -> None:
    """The password-only sign-in expires at the same second as the verified one, or
    later: a later one made this test fail whenever a second boundary fell between them,
    because the verified identity's calls then ran on that newer aal1 session."""
    verified = await enrolled_and_verified(provider, gotrue)
    factor_id = next(iter(gotrue.factors))
    gotrue.later = later
    password_only = await provider.sign_in_with_password(EMAIL, PASSWORD)
    caller = Caller(role="authenticated", sub=gotrue.user_id)
    assert (
        await provider.access_token_for(caller)
        == verified.provider_state["session"]["access_token"]
    )  # the admin's data calls keep their aal2 token
    with pytest.raises(AuthError, match="second factor"):
        await provider.unenroll(password_only, factor_id)
    await provider.unenroll(verified, factor_id)
    assert gotrue.factors == {}


async def test_an_identity_without_a_supabase_session_must_sign_in_again(
    provider: SupabaseAuthProvider,
) -> None:
    from dashboard.auth.provider import Identity

    with pytest.raises(AuthError, match="Sign in again"):
        await provider.list_factors(Identity(user_id=str(uuid.uuid4()), email=EMAIL))


async def test_an_unreachable_auth_server_says_so(gotrue: FakeGoTrue, app_db_url: str) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    db = await PostgresBackend(app_db_url, max_size=1).open()
    http = httpx.AsyncClient(transport=httpx.MockTransport(down))
    auth = SupabaseAuthProvider(URL, "anon-key", StepGuard(db), http=http)
    try:
        with pytest.raises(AuthError, match="could not be reached"):
            await auth.sign_in_with_password(EMAIL, PASSWORD)
    finally:
        await auth.close()
        await db.close()
