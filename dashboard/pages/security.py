"""`/admin/security`: the admin's own factor, recovery codes, sessions and audit trail.

Re-enrolling and regenerating codes need a fresh code from the current app; every
action re-checks the session first (`require_admin`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from dashboard.auth import get_auth
from dashboard.auth.access import as_admin, page_meta, page_session, require_admin
from dashboard.auth.audit import recent_for
from dashboard.auth.ui import code_input, enrollment_view, recovery_codes_view
from dashboard.components.frame import current_zone, frame
from dashboard.components.timefmt import format_time


async def _summary() -> None:
    session = await page_session()
    if session is None:
        return
    auth = get_auth()
    factor = await auth.verified_factor(session)
    remaining = await auth.recovery.remaining(session.user_id)
    active = await auth.sessions.active_for(session.user_id)
    ui.label(f"Signed in as {session.email}").props("data-testid=whoami").mark("whoami")
    ui.label(
        f"Authenticator: {factor.friendly_name or 'TOTP app'},"
        f" enrolled {factor.created_at:%Y-%m-%d}"
        if factor
        else "Authenticator: none"
    )
    ui.label(f"Recovery codes left: {remaining} of 10").props("data-testid=codes-left").mark(
        "codes-left"
    )
    ui.label(f"Active sessions: {len(active)}")


Refresh = Callable[[], Awaitable[None]]


def _regenerate_card(refresh_summary: Refresh) -> None:
    with ui.card().classes("w-full"):
        ui.label("Recovery codes").classes("text-lg font-semibold")
        code = code_input("Current 6-digit code", "regen-code")
        out = ui.column()

        async def regenerate() -> None:
            codes = await as_admin(
                lambda admin: get_auth().regenerate_recovery_codes(
                    admin, code.value or "", page_meta()
                )
            )
            if codes is None:
                return
            code.value = ""
            out.clear()
            with out:
                recovery_codes_view(codes)
            await refresh_summary()

        code.on("keydown.enter", regenerate)
        ui.button("Regenerate recovery codes", on_click=regenerate).props(
            "id=regenerate data-testid=regenerate"
        ).mark("regenerate")


def _reenrol_card(refresh_summary: Refresh) -> None:
    with ui.card().classes("w-full"):
        ui.label("Authenticator app").classes("text-lg font-semibold")
        ui.label("Moving to a new phone? Enter a code from the current app to enrol a new one.")
        code = code_input("Current 6-digit code", "reenrol-code")
        out = ui.column()

        async def start() -> None:
            enrollment = await as_admin(
                lambda admin: get_auth().start_enrollment(admin, page_meta(), code.value or "")
            )
            if enrollment is None:
                return
            code.value = ""
            out.clear()
            with out:
                enrollment_view(enrollment.uri, enrollment.secret)
                new_code = (
                    ui.input("Code from the new app")
                    .props("id=new-code data-testid=new-code")
                    .mark("new-code")
                )

                async def confirm() -> None:
                    confirmed = await as_admin(
                        lambda acting: get_auth().confirm_enrollment(
                            acting, enrollment.factor_id, new_code.value or "", page_meta()
                        )
                    )
                    if confirmed is None:
                        return
                    _, codes = confirmed
                    out.clear()
                    with out:
                        ui.label("New authenticator enrolled; the old one no longer works.")
                        recovery_codes_view(codes)
                    await refresh_summary()

                new_code.on("keydown.enter", confirm)
                ui.button("Verify new app", on_click=confirm).props(
                    "id=confirm-reenrol data-testid=confirm-reenrol"
                ).mark("confirm-reenrol")

        code.on("keydown.enter", start)
        ui.button("Re-enrol", on_click=start).props("id=reenrol data-testid=reenrol").mark(
            "reenrol"
        )


def _sign_out_card() -> None:
    async def everywhere() -> None:
        admin = await require_admin()
        if admin is None:
            return
        await get_auth().sign_out_everywhere(admin, page_meta())
        ui.navigate.to("/logout")

    with ui.card().classes("w-full"):
        ui.label("Sessions").classes("text-lg font-semibold")
        ui.button("Sign out everywhere", icon="logout", on_click=everywhere).props(
            "color=negative id=sign-out-everywhere data-testid=sign-out-everywhere"
        ).mark("sign-out-everywhere")


async def _audit_table() -> None:
    session = await page_session()
    if session is None:
        return
    rows = await recent_for(get_auth().db, session.user_id)
    zone = current_zone()
    ui.label("Your recent sign-in activity").classes("text-lg font-semibold")
    ui.table(
        columns=[
            {"name": "at", "label": "When", "field": "at"},
            {"name": "action", "label": "Action", "field": "action"},
            {"name": "ip", "label": "Address", "field": "ip"},
            {"name": "agent", "label": "Browser", "field": "agent"},
        ],
        rows=[
            {
                "at": format_time(r["created_at"], zone),
                "action": r["action"],
                "ip": r["ip"] or "",
                "agent": (r["user_agent"] or "")[:60],
            }
            for r in rows
        ],
        row_key="at",
    ).classes("w-full").props("id=audit data-testid=audit dense flat").mark("audit")


async def security_page() -> None:
    with frame("Security", active="/security"):
        summary = ui.column()
        with summary:
            await _summary()

        async def refresh_summary() -> None:
            """Codes left and the authenticator, again, after a change on this page."""
            summary.clear()
            with summary:
                await _summary()

        _reenrol_card(refresh_summary)
        _regenerate_card(refresh_summary)
        _sign_out_card()
        await _audit_table()


def register() -> None:
    ui.page("/security")(security_page)
