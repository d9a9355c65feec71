"""A hypothesis state machine over the sign-in steps: right and wrong passwords, codes
from various steps, the clock moving, logout and old cookies. Whatever the order, no
cookie ever reaches AAL2 without the right password followed by a fresh right code."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from dashboard.auth.crypto import totp_step
from dashboard.auth.provider import AuthError
from dashboard.auth.service import AuthService
from dashboard.auth.sessions import AdminSession
from dashboard.backends.postgres import PostgresBackend
from tests.auth_helpers import (
    META,
    PASSWORD,
    add_admin,
    code_at,
    enrol,
    service,
)
from tests.clock import FakeClock
from tests.dbutil import reset_database

CODE_KINDS = ["fresh", "previous_step", "two_steps_ahead", "wrong", "last_used", "recovery_junk"]


class SignInMachine(RuleBasedStateMachine):
    url: str
    loop: asyncio.AbstractEventLoop
    db: PostgresBackend

    def __init__(self) -> None:
        super().__init__()
        reset_database(self.url)
        add_admin(self.url)
        self.clock = FakeClock()
        self.auth: AuthService = service(self.db, self.clock)
        signed = self.run(enrol(self.auth, self.clock))
        self.secret = signed.secret
        self.used_step = totp_step(self.clock())
        self.tokens: list[str] = [signed.token]
        self.earned: set[str] = {signed.token}  # password + fresh code, per the model
        self.pending: AdminSession | None = None  # the latest password-only session
        self.last_code: str | None = None

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    @rule(right=st.booleans())
    def enter_password(self, right: bool) -> None:
        try:
            step = self.run(
                self.auth.login("owner@cliftonsites.test", PASSWORD if right else "nope", META)
            )
        except AuthError:
            return
        assert right, "a wrong password was accepted"
        token, session, _ = self.run(self.auth.redeem(step.handoff.ticket, META.binding))
        assert not session.is_aal2
        self.tokens.append(token)
        self.pending = session

    @rule(kind=st.sampled_from(CODE_KINDS))
    def enter_code(self, kind: str) -> None:
        if self.pending is None:
            return
        now = self.clock()
        step = totp_step(now)
        code = {
            "fresh": code_at(self.secret, now),
            "previous_step": code_at(self.secret, now.replace(microsecond=0) - _steps(1)),
            "two_steps_ahead": code_at(self.secret, now + _steps(2)),
            "wrong": "000000" if code_at(self.secret, now) != "000000" else "111111",
            "last_used": self.last_code or "123456",
            "recovery_junk": "abcde-fghij",
        }[kind]
        session = self.pending
        try:
            result = self.run(self.auth.verify_second_factor(session, code, META))
        except AuthError:
            return
        allowed = {"fresh": step, "previous_step": step - 1}
        assert kind in allowed and allowed[kind] > self.used_step, f"{kind} code was accepted"
        self.used_step = allowed[kind]
        self.last_code = code
        token, redeemed, _ = self.run(self.auth.redeem(result.handoff.ticket, META.binding))
        assert redeemed.is_aal2
        self.tokens.append(token)
        self.earned.add(token)
        self.pending = None

    @rule(seconds=st.sampled_from([1, 29, 30, 31, 600, 1799, 1801, 13 * 3600]))
    def wait(self, seconds: int) -> None:
        self.clock.advance(seconds=seconds)

    @rule(index=st.integers(min_value=0, max_value=50))
    def log_out(self, index: int) -> None:
        token = self.tokens[index % len(self.tokens)]
        session = self.run(self.auth.current(token, touch=False))
        if session is not None:
            self.run(self.auth.logout(session, META))
            assert self.run(self.auth.current(token)) is None

    @invariant()
    def only_earned_cookies_reach_aal2(self) -> None:
        for token in self.tokens:
            session = self.run(self.auth.current(token, touch=False))
            if session is not None and session.is_aal2:
                assert token in self.earned, "a cookie reached aal2 without both factors"


def _steps(n: int) -> Any:
    from datetime import timedelta

    return timedelta(seconds=30 * n)


def test_no_order_of_steps_reaches_aal2_without_both_factors(app_db_url: str) -> None:
    loop = asyncio.new_event_loop()
    db = loop.run_until_complete(PostgresBackend(app_db_url, max_size=4).open())
    SignInMachine.url, SignInMachine.loop, SignInMachine.db = app_db_url, loop, db
    try:
        run_state_machine_as_test(
            SignInMachine,
            settings=settings(
                max_examples=12,
                stateful_step_count=12,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    finally:
        loop.run_until_complete(db.close())
        loop.close()
