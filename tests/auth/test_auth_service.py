"""The sign-in steps against real PostgreSQL, with only the clock faked."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import psycopg
import pytest
from argon2 import PasswordHasher

from dashboard.auth.audit import RequestMeta
from dashboard.auth.provider import AuthError, InvalidCode, InvalidCredentials, ReplayedCode
from dashboard.auth.service import NotAllowed, safe_next
from dashboard.backends.postgres import PostgresBackend
from tests.auth_helpers import (
    EMAIL,
    META,
    PASSWORD,
    add_admin,
    admin_service,
    code_at,
    enrol,
    enrolled_admin,
    full_sign_in,
    service,
    sign_in_password,
)
from tests.clock import FakeClock


async def audit_actions(db: PostgresBackend) -> list[tuple[str, str | None, str | None]]:
    async with db.owner() as conn:
        cur = await conn.execute(
            "select action, host(ip) as ip, user_agent from public.admin_audit_log order by id"
        )
        return [(r["action"], r["ip"], r["user_agent"]) for r in await cur.fetchall()]


async def test_it_refuses_a_wrong_password_and_audits_it(backend: PostgresBackend) -> None:
    auth, _ = admin_service(backend)
    with pytest.raises(InvalidCredentials, match="Wrong email or password"):
        await auth.login(EMAIL, "not the password", META)
    with pytest.raises(InvalidCredentials, match="Wrong email or password"):
        await auth.login("nobody@cliftonsites.test", PASSWORD, META)
    assert await audit_actions(backend) == [
        ("login_failed", "203.0.113.7", "pytest-browser"),
        ("login_failed", "203.0.113.7", "pytest-browser"),
    ]


async def test_it_stores_argon2id_hashes_and_rehashes_weaker_ones(backend: PostgresBackend) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    async with backend.owner() as conn:
        await conn.execute(
            "insert into auth.users (email, encrypted_password) values (%s, %s)", (EMAIL, weak)
        )
    await sign_in_password(service(backend, FakeClock()))
    async with backend.owner() as conn:
        cur = await conn.execute("select encrypted_password as h from auth.users")
        row = await cur.fetchone()
    assert row is not None
    assert row["h"].startswith("$argon2id$v=19$m=19456,t=2,p=1$")


async def test_a_database_dump_shows_no_totp_secret(backend: PostgresBackend) -> None:
    add_admin(backend.url)
    clock = FakeClock()
    signed = await enrol(service(backend, clock), clock)
    dump = []
    with psycopg.connect(backend.url) as conn:
        for table in ("auth.mfa_factors", "admin_private.totp_steps", "admin_private.sessions"):
            with conn.cursor().copy(f"copy {table} to stdout") as copy:
                dump.extend(bytes(chunk).decode() for chunk in copy)
    text = "".join(dump)
    assert len(signed.secret) == 32
    assert signed.secret not in text
    assert signed.secret.lower() not in text.lower()
    assert "gAAAAA" in text  # the Fernet token is what is stored


async def test_the_same_totp_code_is_refused_the_second_time(backend: PostgresBackend) -> None:
    auth, clock, signed = await enrolled_admin(backend)
    clock.advance(seconds=30)
    code = code_at(signed.secret, clock())
    _, first = await sign_in_password(auth)
    await auth.verify_second_factor(first, code, META)
    _, second = await sign_in_password(auth)
    with pytest.raises(ReplayedCode, match="already used"):
        await auth.verify_second_factor(second, code, META)


async def test_twenty_concurrent_submissions_of_one_code_give_one_success(
    backend: PostgresBackend,
) -> None:
    auth, clock, signed = await enrolled_admin(backend)
    clock.advance(seconds=30)
    sessions = [(await sign_in_password(auth))[1] for _ in range(20)]
    code = code_at(signed.secret, clock())
    meta = [RequestMeta(ip=f"198.51.100.{i}", user_agent="x", binding="b") for i in range(20)]
    results = await asyncio.gather(
        *(auth.verify_second_factor(s, code, m) for s, m in zip(sessions, meta, strict=True)),
        return_exceptions=True,
    )
    successes = [r for r in results if not isinstance(r, BaseException)]
    assert len(successes) == 1
    assert all(isinstance(r, ReplayedCode) for r in results if isinstance(r, BaseException))


async def test_a_drift_of_one_step_is_accepted_and_two_steps_refused(
    backend: PostgresBackend,
) -> None:
    auth, clock, signed = await enrolled_admin(backend)
    clock.advance(minutes=5)
    _, session = await sign_in_password(auth)
    with pytest.raises(InvalidCode):
        await auth.verify_second_factor(
            session, code_at(signed.secret, clock() - timedelta(seconds=60)), META
        )
    with pytest.raises(InvalidCode):
        await auth.verify_second_factor(
            session, code_at(signed.secret, clock() + timedelta(seconds=60)), META
        )
    await auth.verify_second_factor(
        session, code_at(signed.secret, clock() - timedelta(seconds=30)), META
    )
    _, again = await sign_in_password(auth)
    await auth.verify_second_factor(
        again, code_at(signed.secret, clock() + timedelta(seconds=30)), META
    )


async def test_sessions_end_after_30_minutes_idle(backend: PostgresBackend) -> None:
    auth, clock, signed = await enrolled_admin(backend)
    clock.advance(minutes=29)
    assert await auth.current(signed.token) is not None
    clock.advance(minutes=29)
    assert await auth.current(signed.token) is not None  # the look-up above counted as activity
    clock.advance(minutes=31)
    assert await auth.current(signed.token) is None


async def test_sessions_end_after_12_hours_however_active(backend: PostgresBackend) -> None:
    auth, clock, signed = await enrolled_admin(backend)
    for _ in range(35):  # 11 h 40 min of activity every 20 minutes
        clock.advance(minutes=20)
        assert await auth.current(signed.token) is not None
    clock.advance(minutes=21)
    assert await auth.current(signed.token) is None


async def test_a_recovery_code_works_once(backend: PostgresBackend) -> None:
    auth, clock = admin_service(backend)
    _, session = await sign_in_password(auth)
    enrollment = await auth.start_enrollment(session, META)
    _, codes = await auth.confirm_enrollment(
        session, enrollment.factor_id, code_at(enrollment.secret, clock()), META
    )
    assert len(codes) == 10 and len(set(codes)) == 10
    _, first = await sign_in_password(auth)
    step = await auth.verify_second_factor(first, codes[3].upper(), META)
    assert step.next_path == "/"
    _, second = await sign_in_password(auth)
    with pytest.raises(InvalidCode):
        await auth.verify_second_factor(second, codes[3], META)
    assert await auth.recovery.remaining(session.user_id) == 9
    assert "recovery_code_used" in [a for a, _, _ in await audit_actions(backend)]


async def test_old_cookies_are_refused_after_each_step_and_after_logout(
    backend: PostgresBackend,
) -> None:
    auth, clock, signed = await enrolled_admin(backend)
    clock.advance(seconds=30)
    before, aal1 = await sign_in_password(auth)
    step = await auth.verify_second_factor(aal1, code_at(signed.secret, clock()), META)
    assert await auth.current(before) is None  # the password step's cookie died at MFA
    token, session, _ = await auth.redeem(step.handoff.ticket, META.binding)
    assert await auth.current(token) is not None and session.is_aal2
    second, aal1_again = await sign_in_password(auth)
    assert await auth.current(second) is not None and not aal1_again.is_aal2
    await auth.logout(session, META)
    assert await auth.current(token) is None
    assert await auth.current(signed.token) is not None  # other sessions are untouched


async def test_sign_out_everywhere_ends_every_session(backend: PostgresBackend) -> None:
    auth, clock, signed = await enrolled_admin(backend)
    clock.advance(seconds=30)
    other = await full_sign_in(auth, clock, signed.secret)
    assert await auth.sign_out_everywhere(signed.session, META) == 2
    assert await auth.current(signed.token) is None
    assert await auth.current(other.token) is None


async def test_an_admin_ends_one_of_their_sessions_and_never_another_admins(
    backend: PostgresBackend,
) -> None:
    auth, clock, signed = await enrolled_admin(backend)
    clock.advance(seconds=30)
    other = await full_sign_in(auth, clock, signed.secret)
    colleague_id = add_admin(backend.url, "colleague@example.com")
    handoff = await auth.sessions.start(
        user_id=colleague_id, email="colleague@example.com", aal="aal2", factor_id=None,
        binding=None, next_path="/", ip="203.0.113.9", user_agent="curl/8",
    )  # fmt: skip
    token, colleague, _ = await auth.sessions.redeem(handoff.ticket, None)
    assert not await auth.end_session(signed.session, colleague.id, META)
    assert await auth.current(token) is not None  # the colleague is still signed in
    assert await auth.end_session(signed.session, other.session.id, META)
    assert await auth.current(other.token) is None
    assert await auth.current(signed.token) is not None
    assert not await auth.end_session(signed.session, other.session.id, META)  # already
    assert [a for a in await audit_actions(backend) if a[0] == "session_ended"] == [
        ("session_ended", META.ip, META.user_agent)
    ]


async def test_a_handoff_ticket_works_once_and_only_in_its_browser(
    backend: PostgresBackend,
) -> None:
    auth, _ = admin_service(backend)
    step = await auth.login(EMAIL, PASSWORD, META)
    with pytest.raises(LookupError):
        await auth.redeem(step.handoff.ticket, "another-browser")
    await auth.redeem(step.handoff.ticket, META.binding)
    with pytest.raises(LookupError):
        await auth.redeem(step.handoff.ticket, META.binding)


async def test_a_password_only_session_cannot_replace_an_enrolled_factor(
    backend: PostgresBackend,
) -> None:
    auth, _, _ = await enrolled_admin(backend)
    _, attacker = await sign_in_password(auth)
    with pytest.raises(NotAllowed):
        await auth.start_enrollment(attacker, META)


async def test_reenrolment_needs_a_fresh_code_from_the_current_app(
    backend: PostgresBackend,
) -> None:
    auth, clock, signed = await enrolled_admin(backend)
    with pytest.raises(AuthError):
        await auth.start_enrollment(signed.session, META, "000000")
    clock.advance(seconds=30)
    new = await auth.start_enrollment(signed.session, META, code_at(signed.secret, clock()))
    step, codes = await auth.confirm_enrollment(
        signed.session, new.factor_id, code_at(new.secret, clock()), META
    )
    assert step is None and len(codes) == 10
    clock.advance(seconds=30)
    _, session = await sign_in_password(auth)
    with pytest.raises(InvalidCode):
        await auth.verify_second_factor(session, code_at(signed.secret, clock()), META)
    await auth.verify_second_factor(session, code_at(new.secret, clock()), META)


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("/logs?level=error", "/logs?level=error"),
        ("//evil.example/x", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/login", "/"),
        ("", "/"),
    ],
)
def test_redirect_targets_stay_inside_admin(raw: str, safe: str) -> None:
    assert safe_next(raw) == safe
