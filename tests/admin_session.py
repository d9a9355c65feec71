"""Test helper: a real admin with a verified TOTP factor and an AAL2 session cookie,
made through the auth service itself (no mocks of our own code). The clock is the
only thing faked, so a test can move past the TOTP step used at sign-in and give a
fresh code for step-up."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyotp
from nicegui import ui
from nicegui.testing import User

from dashboard.auth.admins import create_admin
from dashboard.auth.provider import Identity
from dashboard.auth.service import AuthService
from dashboard.runtime import Runtime
from tests.clock import FakeClock

EMAIL = "ops@cliftonsites.test"
PASSWORD = "correct horse battery staple"


@dataclass
class SignedIn:
    user_id: str
    email: str
    token: str
    secret: str
    clock: FakeClock
    auth: AuthService

    def fresh_code(self) -> str:
        """A code from the next TOTP step (the clock moves there), never used before."""
        self.clock.advance(30)
        return pyotp.TOTP(self.secret).at(self.clock())

    async def sign_out(self) -> None:
        session = await self.auth.current(self.token)
        assert session is not None
        await self.auth.sessions.revoke(session.id, "test")


async def sign_in_admin(runtime: Runtime, email: str = EMAIL) -> SignedIn:
    """Create the admin, enrol and verify a factor, and open an AAL2 session."""
    clock = FakeClock(datetime.now(UTC))  # sessions are stored with the real now()
    auth = AuthService.local(runtime.db, runtime.settings.secret_key, clock=clock)
    runtime.services["auth"] = auth
    user_id = await asyncio.to_thread(create_admin, runtime.database_url, email, PASSWORD)
    identity = Identity(user_id, email)
    enrollment = await auth.provider.enroll(identity)
    code = pyotp.TOTP(enrollment.secret).at(clock())
    await auth.provider.verify(identity, enrollment.factor_id, code)
    handoff = await auth.sessions.start(
        user_id=user_id,
        email=email,
        aal="aal2",
        factor_id=enrollment.factor_id,
        binding=None,
        next_path="/",
        ip=None,
        user_agent=None,
    )
    token, _session, _next = await auth.sessions.redeem(handoff.ticket, None)
    return SignedIn(user_id, email, token, enrollment.secret, clock, auth)


async def settle(predicate: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    """Wait until an async condition holds (handlers run as background tasks)."""
    for _ in range(int(timeout / 0.05)):
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


def table_rows(user: User, index: int = 0) -> list[dict[str, Any]]:
    """The rows a page's `index`-th table currently sends to the browser."""
    tables = sorted(user.find(ui.table).elements, key=lambda t: t.id)
    return list(tables[index].rows)


async def requeue_all_failed(
    user: User, code: str, *, open_page: bool = True, impact: str = ""
) -> None:
    """Click "Requeue all failed…" on /businesses and confirm with `code`, after seeing
    `impact` in the dialog when given."""
    if open_page:
        await user.open("/businesses")
        await user.should_see(marker="requeue-all-failed", retries=100)
    user.find(marker="requeue-all-failed").click()
    await user.should_see(marker="step-up-code", retries=50)
    if impact:
        await user.should_see(impact)
    user.find(marker="step-up-code").type(code)
    user.find(marker="step-up-confirm").click()


async def open_detail(user: User, business_id: int) -> None:
    await user.open(f"/businesses/{business_id}")
    await user.should_see(marker="business-why", retries=100)
