"""`/admin/mfa`: the second step, a 6-digit code from the app or a recovery code."""

from __future__ import annotations

from nicegui import app, ui

from dashboard.auth import get_auth
from dashboard.auth.access import page_meta, page_session
from dashboard.auth.service import safe_next
from dashboard.auth.sessions import AdminSession
from dashboard.auth.ui import code_form, sign_in_card
from dashboard.components.frame import NOTICE_KEY


def recovery_notice(left: int) -> str:
    """What an admin who just spent a recovery code is told, with how many are left."""
    codes = "1 recovery code is" if left == 1 else f"{left} recovery codes are"
    advice = (
        "Make new ones on the Security page now."
        if left <= 3
        else "You can make new ones on the Security page."
    )
    return f"You signed in with a recovery code; it cannot be used again. {codes} left. {advice}"


async def mfa_page(next: str = "") -> None:
    auth = get_auth()
    session = await page_session()
    if session is None:
        ui.navigate.to("/login")
        return
    if await auth.verified_factor(session) is None:
        ui.navigate.to("/setup-mfa")
        return
    target = safe_next(next)
    with sign_in_card("Two-step verification", "Verify"):
        ui.label(
            f"Signed in as {session.email}. Enter the 6-digit code from your app,"
            " or one of your recovery codes."
        ).classes("text-sm")

        async def verify(current: AdminSession, code: str) -> None:
            step = await auth.verify_second_factor(current, code, page_meta(), next_path=target)
            if step.recovery_codes_left is not None:
                # said on the page the admin lands on (frame() shows it once)
                app.storage.user[NOTICE_KEY] = recovery_notice(step.recovery_codes_left)
            ui.navigate.to(step.url)

        code_form("Code", verify, autofocus=True)
        ui.link("Use another account", "/logout").classes("text-sm")


def register() -> None:
    ui.page("/mfa")(mfa_page)
