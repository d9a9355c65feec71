"""`/admin/setup-mfa`: a first login without a factor enrols one here.

QR code (a data URI) and the secret as text; one code verifies the factor; then the
10 recovery codes are shown once, and `Continue`, once the admin confirms the codes are
saved, completes the rotation to aal2.
"""

from __future__ import annotations

from nicegui import ui

from dashboard.auth import get_auth
from dashboard.auth.access import page_meta, page_session
from dashboard.auth.service import safe_next
from dashboard.auth.sessions import AdminSession
from dashboard.auth.ui import code_form, enrollment_view, recovery_codes_view, sign_in_card


async def setup_mfa_page(next: str = "") -> None:
    auth = get_auth()
    session = await page_session()
    if session is None:
        ui.navigate.to("/login")
        return
    if await auth.verified_factor(session) is not None:
        ui.navigate.to("/security" if session.is_aal2 else "/mfa")
        return
    enrollment = await auth.start_enrollment(session, page_meta())
    target = safe_next(next)
    with sign_in_card("Set up two-step verification", "Set up two-step verification") as card:
        ui.label(
            "Scan this code with an authenticator app (1Password, Google"
            " Authenticator, Aegis, ...), then enter the code it shows."
        ).classes("text-sm")
        enrollment_view(enrollment.uri, enrollment.secret)

        async def confirm(current: AdminSession, code: str) -> None:
            step, codes = await auth.confirm_enrollment(
                current, enrollment.factor_id, code, page_meta(), next_path=target
            )
            card.clear()
            with card:
                ui.html(
                    '<h1 class="text-xl font-bold m-0">Authenticator enrolled</h1>', sanitize=False
                )
                recovery_codes_view(codes)
                saved = saved_codes_dialog(step.url if step else target)
                ui.button("Continue", on_click=saved.open).props(
                    "id=continue data-testid=continue autofocus"
                ).mark("continue")

        code_form("6-digit code", confirm, autofocus=True)


def saved_codes_dialog(url: str) -> ui.dialog:
    """Continue asks first: the codes are never shown again, and copying them is not
    saving them."""
    with ui.dialog() as dialog, ui.card().classes("w-96 max-w-full"):
        ui.html(
            '<h2 class="text-lg font-semibold m-0">Have you saved your recovery codes?</h2>',
            sanitize=False,
        )
        ui.label(
            "They are not shown again. Without them, a lost phone means another admin"
            " has to reset your two-step verification."
        ).classes("text-sm")
        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Back to the codes", on_click=dialog.close).props(
                "flat no-caps data-testid=codes-back"
            ).mark("codes-back")
            ui.button("Yes, I saved them", on_click=lambda: ui.navigate.to(url)).props(
                "no-caps autofocus data-testid=codes-saved"
            ).mark("codes-saved")
    return dialog


def register() -> None:
    ui.page("/setup-mfa")(setup_mfa_page)
