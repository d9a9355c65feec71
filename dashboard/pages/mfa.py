"""`/admin/mfa`: the second step, a 6-digit code from the app or a recovery code."""

from __future__ import annotations

from nicegui import ui

from dashboard.auth import get_auth
from dashboard.auth.access import page_meta, page_session
from dashboard.auth.provider import AuthError
from dashboard.auth.service import safe_next


async def mfa_page(next: str = "") -> None:
    ui.page_title("Verify · CliftonSites Admin")
    auth = get_auth()
    session = await page_session()
    if session is None:
        ui.navigate.to("/login")
        return
    if await auth.verified_factor(session) is None:
        ui.navigate.to("/setup-mfa")
        return
    target = safe_next(next)
    with ui.card().classes("absolute-center w-96"):
        ui.label("Two-step verification").classes("text-xl font-bold")
        ui.label(
            f"Signed in as {session.email}. Enter the 6-digit code from your app,"
            " or one of your recovery codes."
        ).classes("text-sm")
        code = (
            ui.input("Code")
            .props(
                "id=code data-testid=code autocomplete=one-time-code inputmode=numeric autofocus"
            )
            .mark("code")
        )
        error = (
            ui.label()
            .classes("text-negative text-sm")
            .props("id=error data-testid=error")
            .mark("error")
        )

        async def verify() -> None:
            error.text = ""
            current = await page_session()
            if current is None:
                ui.navigate.to("/login?expired=1")
                return
            try:
                step = await auth.verify_second_factor(
                    current, code.value or "", page_meta(), next_path=target
                )
            except AuthError as exc:
                error.text = str(exc)
                code.value = ""
                return
            ui.navigate.to(step.url)

        code.on("keydown.enter", verify)
        ui.button("Verify", on_click=verify).props("id=verify data-testid=verify").mark(
            "verify"
        ).classes("w-full")
        ui.link("Use another account", "/logout").classes("text-sm")


def register() -> None:
    ui.page("/mfa")(mfa_page)
