"""`/admin/login`: email and password, the first of the two sign-in steps."""

from __future__ import annotations

from nicegui import ui

from dashboard.auth import get_auth
from dashboard.auth.access import page_meta
from dashboard.auth.provider import AuthError
from dashboard.auth.service import safe_next
from dashboard.auth.ui import error_label, sign_in_card, submit_button
from dashboard.components.forms import form

NOTICES = {
    "expired": "That sign-in step expired. Sign in again.",
    "signed_out": "You are signed out.",
    "ended": "Your session has ended. Sign in again.",
}


async def login_page(next: str = "", expired: str = "", signed_out: str = "") -> None:
    target = safe_next(next)
    ended = ui.context.client.request.query_params.get("ended", "")  # a page's session ended
    with sign_in_card("CliftonSites Admin", "Sign in"):
        ui.label("Sign in to the admin dashboard.").classes("text-sm")
        for key, flag in (("expired", expired), ("signed_out", signed_out), ("ended", ended)):
            if flag:
                ui.label(NOTICES[key]).classes("text-sm").props(
                    f"data-testid={key} role=status"
                ).mark(key)
        with form():
            email = (
                ui.input("Email")
                .props("id=email data-testid=email type=email autocomplete=username autofocus")
                .classes("w-full")
                .mark("email")
            )
            password = (
                ui.input("Password", password=True)
                .props("id=password data-testid=password autocomplete=current-password")
                .classes("w-full")
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

            submit_button("Sign in", "sign-in", sign_in)


def register() -> None:
    ui.page("/login")(login_page)
