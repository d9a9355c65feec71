"""Throttling of passwords and codes: per account, per address, shared through the
database, and never more than 100 failures an hour for one account."""

from __future__ import annotations

import asyncio
import contextlib
import re

import pytest

from dashboard.auth.audit import RequestMeta
from dashboard.auth.provider import AuthError, InvalidCredentials
from dashboard.auth.throttle import Throttled, address_key
from dashboard.backends.postgres import PostgresBackend
from tests.auth_helpers import (
    EMAIL,
    META,
    PASSWORD,
    add_admin,
    admin_service,
    code_at,
    enrolled_admin,
    service,
    sign_in_password,
)
from tests.clock import FakeClock
from tests.factories import count_rows


def attacker(i: int) -> RequestMeta:
    return RequestMeta(ip=f"198.51.{i // 200}.{i % 200 + 1}", user_agent="bot", binding=None)


async def test_101_wrong_passwords_in_an_hour_are_never_all_checked(
    backend: PostgresBackend,
) -> None:
    auth, clock = admin_service(backend)
    refused: list[str] = []
    for i in range(101):
        try:
            await auth.login(EMAIL, f"guess {i}", attacker(i // 3))
        except Throttled as exc:
            refused.append(str(exc))
        except InvalidCredentials:
            pass
        clock.advance(seconds=35)  # 101 attempts within 59 minutes
    checked = count_rows(backend.url, "admin_audit_log", action="login_failed")
    assert checked <= 100
    assert checked == 80  # 20 per 15-minute window, 4 windows
    assert refused and re.search(r"Try again at \d\d:\d\d UTC \(in \d+ minutes?\)", refused[0])
    assert count_rows(backend.url, "admin_audit_log", action="lockout") >= 1


async def test_the_real_admin_gets_back_in_soon_after_an_attack_stops(
    backend: PostgresBackend,
) -> None:
    auth, clock = admin_service(backend)
    for i in range(25):
        with contextlib.suppress(AuthError):
            await auth.login(EMAIL, "guess", attacker(i))
    with pytest.raises(Throttled) as refused:
        await auth.login(EMAIL, PASSWORD, META)
    assert 0 < (refused.value.retry_at - clock()).total_seconds() <= 15 * 60
    clock.now = refused.value.retry_at
    await sign_in_password(auth)


async def test_one_address_is_stopped_before_the_account_is(backend: PostgresBackend) -> None:
    auth, _ = admin_service(backend)
    bad = RequestMeta(ip="192.0.2.66", user_agent="bot")
    for _ in range(10):
        with pytest.raises(InvalidCredentials):
            await auth.login(EMAIL, "guess", bad)
    with pytest.raises(Throttled):
        await auth.login(EMAIL, PASSWORD, bad)  # even the right password waits
    await sign_in_password(auth, META)  # the admin, elsewhere, is not locked out


async def test_ipv6_addresses_count_by_their_64(backend: PostgresBackend) -> None:
    assert address_key("2001:db8:1:2::1") == address_key("2001:db8:1:2:ffff::9")
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")


async def test_concurrent_guesses_cannot_pass_the_limit(backend: PostgresBackend) -> None:
    auth, _ = admin_service(backend)
    results = await asyncio.gather(
        *(auth.login(EMAIL, f"guess {i}", attacker(i)) for i in range(30)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Throttled) for r in results) == 10
    assert count_rows(backend.url, "admin_audit_log", action="login_failed") == 20


async def test_brute_force_on_codes_is_throttled(backend: PostgresBackend) -> None:
    auth, clock, signed = await enrolled_admin(backend)
    clock.advance(seconds=30)
    _, session = await sign_in_password(auth)
    right = code_at(signed.secret, clock())
    wrong = [f"{n:06d}" for n in range(200) if f"{n:06d}" != right]
    outcomes = []
    for i, code in enumerate(wrong[:40]):
        try:
            await auth.verify_second_factor(session, code, attacker(i))
            outcomes.append("ok")
        except Throttled:
            outcomes.append("throttled")
        except AuthError:
            outcomes.append("wrong")
    assert outcomes.count("wrong") == 20 and outcomes.count("ok") == 0
    with pytest.raises(Throttled):
        await auth.verify_second_factor(session, right, META)  # the account waits too
    assert count_rows(backend.url, "admin_audit_log", action="mfa_failed") == 20


async def test_throttle_counts_are_shared_between_app_instances(
    backend: PostgresBackend,
) -> None:
    add_admin(backend.url)
    clock = FakeClock()
    other = await PostgresBackend(backend.url, max_size=2).open()
    try:
        instance_a, instance_b = service(backend, clock), service(other, clock)
        bad = RequestMeta(ip="192.0.2.99", user_agent="bot")
        for _ in range(10):
            with pytest.raises(InvalidCredentials):
                await instance_a.login(EMAIL, "guess", bad)
        with pytest.raises(Throttled):
            await instance_b.login(EMAIL, "guess", bad)
    finally:
        await other.close()
