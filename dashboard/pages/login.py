"""`/admin/login`: email and password, the first of the two sign-in steps."""

from __future__ import annotations

from nicegui import ui

from dashboard.auth import get_auth
from dashboard.auth.access import page_meta
from dashboard.auth.provider import AuthError
from dashboard.auth.service import safe_next
from dashboard.auth.ui import error_label, submit_button
from dashboard.components.errors import report_errors

NOTICES = {
    "expired": "That sign-in step expired. Sign in again.",
    "signed_out": "You are signed out.",
    "ended": "Your session has ended. Sign in again.",
}


async def login_page(next: str = "", expired: str = "", signed_out: str = "") -> None:
    ui.page_title("Sign in · CliftonSites Admin")
    report_errors(to_admin=False)
    target = safe_next(next)
    ended = ui.context.client.request.query_params.get("ended", "")  # a page's session ended
    with ui.card().classes("absolute-center w-96"):
        ui.label("CliftonSites Admin").classes("text-xl font-bold")
        for key, flag in (("expired", expired), ("signed_out", signed_out), ("ended", ended)):
            if flag:
                ui.label(NOTICES[key]).classes("text-sm").props(f"data-testid={key}").mark(key)
        email = (
            ui.input("Email")
            .props("id=email data-testid=email autocomplete=username")
            .mark("email")
        )
        password = (
            ui.input("Password", password=True)
            .props("id=password data-testid=password autocomplete=current-password")
            .mark("password")
        )
        error = error_label()

        async def sign_in() -> None:
            error.text = ""
            try:
                step = await get_auth().login(
                    email.value or "", password.value or "", page_meta(), next_path=target
                )
            except AuthError as exc:
                error.text = str(exc)
                password.value = ""
                return
            ui.navigate.to(step.url)

        password.on("keydown.enter", sign_in)
        submit_button("Sign in", "sign-in", sign_in)


def register() -> None:
    ui.page("/login")(login_page)
