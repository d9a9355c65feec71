"""Helpers shared by the auth tests (no tests here): a movable clock, admins, and
the sign-in steps driven through the service the way the pages drive them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pyotp

from dashboard.auth.admins import create_admin
from dashboard.auth.audit import RequestMeta
from dashboard.auth.service import AuthService
from dashboard.auth.sessions import AdminSession
from dashboard.backends.postgres import PostgresBackend
from tests.clock import FakeClock

SECRET_KEY = "auth-tests-secret-key-0123456789abcdef"
EMAIL = "owner@cliftonsites.test"
PASSWORD = "correct horse battery staple"
META = RequestMeta(ip="203.0.113.7", user_agent="pytest-browser", binding="browser-1")


def add_admin(url: str, email: str = EMAIL, password: str = PASSWORD) -> str:
    return create_admin(url, email, password)


def service(db: PostgresBackend, clock: FakeClock) -> AuthService:
    return AuthService.local(db, SECRET_KEY, clock=clock)


def admin_service(db: PostgresBackend) -> tuple[AuthService, FakeClock]:
    """The one admin (EMAIL, PASSWORD) and a service on `db` with a clock of its own."""
    add_admin(db.url)
    clock = FakeClock()
    return service(db, clock), clock


def code_at(secret: str, when: datetime) -> str:
    return pyotp.TOTP(secret).at(when)


@dataclass
class Signed:
    token: str
    session: AdminSession
    secret: str


async def sign_in_password(
    auth: AuthService, meta: RequestMeta = META, email: str = EMAIL, password: str = PASSWORD
) -> tuple[str, AdminSession]:
    step = await auth.login(email, password, meta)
    token, session, _ = await auth.redeem(step.handoff.ticket, meta.binding)
    return token, session


async def enrol(auth: AuthService, clock: FakeClock, meta: RequestMeta = META) -> Signed:
    """Password step, then enrolment from the shown secret: an aal2 session."""
    _, session = await sign_in_password(auth, meta)
    enrollment = await auth.start_enrollment(session, meta)
    step, _codes = await auth.confirm_enrollment(
        session, enrollment.factor_id, code_at(enrollment.secret, clock()), meta
    )
    assert step is not None
    token, session, _ = await auth.redeem(step.handoff.ticket, meta.binding)
    return Signed(token, session, enrollment.secret)


async def enrolled_admin(db: PostgresBackend) -> tuple[AuthService, FakeClock, Signed]:
    """`admin_service`, then the admin enrolled: an aal2 session."""
    auth, clock = admin_service(db)
    return auth, clock, await enrol(auth, clock)


async def full_sign_in(
    auth: AuthService, clock: FakeClock, secret: str, meta: RequestMeta = META
) -> Signed:
    """Password then TOTP for an enrolled admin (the clock must be on a fresh step)."""
    _, session = await sign_in_password(auth, meta)
    step = await auth.verify_second_factor(session, code_at(secret, clock()), meta)
    token, session, _ = await auth.redeem(step.handoff.ticket, meta.binding)
    return Signed(token, session, secret)
