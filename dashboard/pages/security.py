"""`/admin/security`: the admin's own factor, recovery codes, sessions and audit trail.

Sessions are listed one by one (device, address, signed in, last seen, which is this
browser); any other one can be ended, and "Sign out everywhere" asks first.

Re-enrolling and regenerating codes need a fresh code from the current app; every
action re-checks the session first (`require_admin`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from zoneinfo import ZoneInfo

from nicegui import ui

from dashboard.auth import get_auth
from dashboard.auth.access import as_admin, page_meta, page_session, require_admin
from dashboard.auth.audit import recent_for
from dashboard.auth.sessions import SessionListing
from dashboard.auth.ui import code_input, enrollment_view, recovery_codes_view
from dashboard.components.confirm import ask_yes
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


BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
            ("HeadlessChrome/", "Headless Chrome"), ("Chrome/", "Chrome"),
            ("Safari/", "Safari"))  # fmt: skip
SYSTEMS = (("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iPadOS"),
           ("Windows", "Windows"), ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"),
           ("Linux", "Linux"))  # fmt: skip


def describe_agent(user_agent: str | None) -> str:
    """'Chrome on Linux' from a User-Agent header, as a person names their device."""
    agent = user_agent or ""
    browser = next((name for token, name in BROWSERS if token in agent), None)
    system = next((name for token, name in SYSTEMS if token in agent), None)
    if browser is None and system is None:
        return agent[:40] or "Unknown browser"
    return f"{browser or 'A browser'} on {system}" if system else str(browser)


async def _sessions_card(refresh_summary: Refresh) -> None:
    """Each live session of this admin: device, address, created, last seen; end any
    one of them (its open pages close within a second), or all after a confirmation."""
    with ui.card().classes("w-full"):
        ui.label("Sessions").classes("text-lg font-semibold")
        listing = ui.column().classes("w-full gap-2").mark("session-list")

        async def show() -> None:
            admin = await page_session()
            if admin is None:
                return
            sessions = await get_auth().sessions.listing_for(admin.user_id)
            zone = current_zone()
            listing.clear()
            with listing:
                for each in sessions:
                    _session_row(each, each.id == admin.id, zone, end)

        async def end(session_id: str) -> None:
            ended = await as_admin(
                lambda admin: get_auth().end_session(admin, session_id, page_meta())
            )
            if ended is None:
                return
            ui.notify(
                "That session is ended: its pages are signed out."
                if ended
                else "That session had already ended.",
                type="positive" if ended else "info",
            )
            await show()
            await refresh_summary()

        async def everywhere() -> None:
            admin = await require_admin()
            if admin is None:
                return
            count = len(await get_auth().sessions.active_for(admin.user_id))
            if not await ask_yes(
                "Sign out everywhere?",
                f"Ends all {count} of your sessions, this one included: every browser"
                " signed in as you must sign in again.",
                "Sign out everywhere",
                "confirm-sign-out-everywhere",
            ):
                return
            await get_auth().sign_out_everywhere(admin, page_meta())
            ui.navigate.to("/logout")

        await show()
        ui.button("Sign out everywhere", icon="logout", on_click=everywhere).props(
            "color=negative id=sign-out-everywhere data-testid=sign-out-everywhere"
        ).mark("sign-out-everywhere")


def _session_row(
    each: SessionListing,
    current: bool,
    zone: ZoneInfo | None,
    end: Callable[[str], Awaitable[None]],
) -> None:
    with ui.row().classes("w-full items-center gap-x-4 gap-y-1 flex-wrap").mark("session-row"):
        with ui.column().classes("gap-0 grow min-w-0"):
            with ui.row().classes("items-center gap-2"):
                ui.label(describe_agent(each.user_agent)).classes("font-semibold").tooltip(
                    each.user_agent or "no User-Agent was sent"
                )
                if current:
                    ui.label("this browser").classes("status-badge tone-progress").mark(
                        "this-session"
                    )
            ui.label(
                f"{each.ip or 'unknown address'} · signed in {format_time(each.created_at, zone)}"
                f" · last seen {format_time(each.last_seen_at, zone)}"
            ).classes("text-sm tone-text-muted")
        if not current:
            ui.button("End", on_click=lambda: end(each.id)).props(
                f"outline color=negative data-testid=end-session-{each.id}"
            ).mark(f"end-session end-session-{each.id}")


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
        await _sessions_card(refresh_summary)
        await _audit_table()


def register() -> None:
    ui.page("/security")(security_page)
