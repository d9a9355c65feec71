"""UI pieces of sign-in shared by the pages: the header's logout button, the sign-in
pages' layout (`sign_in_card`: the app's theme, one `h1`, a card that fits a phone),
the code input, error label and submit button of the sign-in forms (real `<form>`s:
Enter submits), the QR code as a data URI (never a served file, which NiceGUI would
cache publicly) with an `otpauth://` link for a phone that cannot scan itself, and the
one-time display of recovery codes with copy and download buttons.
"""

from __future__ import annotations

import asyncio
import base64
import heapq
import itertools
import logging
import weakref
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from html import escape

import qrcode
import qrcode.image.svg
from nicegui import background_tasks, ui
from nicegui.client import Client

from dashboard.auth import get_auth
from dashboard.auth.access import page_meta, page_session
from dashboard.auth.open_pages import reaper_running
from dashboard.auth.preferences import page_theme
from dashboard.auth.provider import AuthError
from dashboard.auth.sessions import AdminSession
from dashboard.components import forms, theme
from dashboard.components.errors import report_errors

log = logging.getLogger(__name__)

#: How often an open page asks whether its session still holds (read only, no touch).
SESSION_WATCH_SECONDS = 30.0

#: Open pages whose session is watched: (when to check next, order, the page's client).
_due: list[tuple[float, int, weakref.ref[Client]]] = []
_order = itertools.count()
_watcher: list[asyncio.Task[None]] = []


def logout_button() -> None:
    """`Log out` for the header: ends the session in the database, then clears the cookie.

    Also watches the session, so a page left open goes to the login page soon after a
    logout elsewhere or a timeout (actions are refused at once by `require_admin`).
    A plain Quasar button (one element, lighter than `ui.button`) and no timer: every
    page carries the header, so both would cost every open page (see `watch_session`).
    """

    async def log_out() -> None:
        session = await page_session(touch=False)
        if session is not None:
            await get_auth().logout(session, page_meta())
        ui.navigate.to("/logout")

    button = ui.element("q-btn").props("flat color=white id=logout data-testid=logout")
    button.props.update({"label": "Log out", "icon": "logout"})
    button.on("click", log_out, []).mark("logout")
    watch_session()


def watch_session() -> None:
    """Send this page to the login page soon after its session ends: it is checked every
    SESSION_WATCH_SECONDS from now on by one task for the whole process (a timer per page
    would cost every open page an element and a task).

    Not needed where the app's page reaper runs (`dashboard.auth.open_pages`): it ends
    such a page itself within about a second."""
    if reaper_running():
        return
    loop = asyncio.get_running_loop()
    heapq.heappush(
        _due, (loop.time() + SESSION_WATCH_SECONDS, next(_order), weakref.ref(ui.context.client))
    )
    running = _watcher[0] if _watcher else None
    if running is None or running.done() or running.get_loop() is not loop:
        _watcher[:] = [background_tasks.create(_watch_sessions(), name="watch sessions")]


async def _watch_sessions() -> None:
    loop = asyncio.get_running_loop()
    while _due:
        await asyncio.sleep(max(0.0, _due[0][0] - loop.time()))
        _, order, page = heapq.heappop(_due)  # pages added meanwhile are due later
        client = page()
        if client is None or client.is_deleted or Client.instances.get(client.id) is not client:
            continue  # gone (a client NiceGUI no longer holds must not navigate anybody)
        with client:
            try:
                ended = await page_session(touch=False) is None
            except Exception:  # the database is away: ask again next time
                log.exception("session watch of an open page failed")
                ended = False
            if ended:
                ui.navigate.to("/login")
                continue
        heapq.heappush(_due, (loop.time() + SESSION_WATCH_SECONDS, order, page))


@contextmanager
def sign_in_card(title: str, page_title: str) -> Iterator[ui.card]:
    """A sign-in page's layout: the app's CSS and theme (the browser's scheme, or the
    admin's choice once a session is known), then a card with the page's `h1` that
    fits any screen from a 320 px phone up (never wider than the screen)."""
    client = ui.context.client
    theme.apply(page_theme(client.request.state), theme.path_prefix())
    ui.page_title(f"{page_title} · CliftonSites Admin")
    report_errors(to_admin=False)
    client.content.classes("min-h-screen items-center justify-center p-3 sm:p-6")
    with ui.card().classes("w-full max-w-md gap-3").props("data-testid=sign-in-card") as card:
        ui.html(f'<h1 class="text-xl font-bold m-0">{escape(title)}</h1>', sanitize=False)
        yield card


def code_input(label: str, testid: str, *, autofocus: bool = False) -> ui.input:
    """A one-time-code input: numeric keyboard on phones, autofill from the OS."""
    props = f"id={testid} data-testid={testid} autocomplete=one-time-code inputmode=numeric"
    return (
        ui.input(label)
        .props(props + (" autofocus" if autofocus else ""))
        .classes("w-full")
        .mark(testid)
    )


def error_label() -> ui.label:
    """The line under a sign-in form where a refused attempt says why (read out at once)."""
    return (
        ui.label()
        .classes("tone-text-failed text-sm")
        .props("id=error data-testid=error role=alert")
        .mark("error")
    )


def submit_button(text: str, testid: str, on_click: Callable[[], Awaitable[None]]) -> None:
    """The full-width button that submits a sign-in form (Enter in a field too)."""
    forms.submit_button(text, on_click).props(f"id={testid} data-testid={testid}").mark(
        testid
    ).classes("w-full")


def code_form(
    label: str,
    on_code: Callable[[AdminSession, str], Awaitable[None]],
    *,
    autofocus: bool = False,
) -> None:
    """Code input, error label and `Verify` (Enter submits too) for the current session.

    A session gone meanwhile goes back to the login page; an `AuthError` from `on_code`
    shows under the input and empties it.
    """
    with forms.form():
        code = code_input(label, "code", autofocus=autofocus)
        error = error_label()

        async def submit() -> None:
            error.text = ""
            current = await page_session()
            if current is None:
                ui.navigate.to("/login?expired=1")
                return
            try:
                await on_code(current, code.value or "")
            except AuthError as exc:
                error.text = str(exc)
                code.value = ""

        submit_button("Verify", "verify", submit)


def qr_data_uri(uri: str) -> str:
    svg = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.to_string()).decode()


def grouped(secret: str) -> str:
    """The secret in groups of four, as authenticator apps accept it typed."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def enrollment_view(uri: str, secret: str) -> None:
    """The QR code, an `otpauth://` link (a phone opens its authenticator app with it:
    it cannot scan its own screen), and the secret as text for manual entry."""
    ui.image(qr_data_uri(uri)).classes("w-56 h-56 max-w-full self-center bg-white rounded").props(
        "id=qr data-testid=qr alt='QR code for your authenticator app'"
    ).mark("qr")
    link = (
        f'<a href="{escape(uri)}" data-testid="otpauth-link" class="underline font-medium">'
        "Open in authenticator app</a> (on this phone or tablet)"
    )
    ui.html(link, sanitize=False).classes("text-sm").mark("otpauth-link")
    ui.label("Can't scan? Enter this key in your app:").classes("text-sm")
    with ui.row().classes("w-full items-center gap-2 no-wrap"):
        ui.label(grouped(secret)).classes(
            "cs-code grow min-w-0 font-mono text-lg select-all"
        ).props("id=secret data-testid=secret").mark("secret")
        ui.button(icon="content_copy", on_click=lambda: ui.clipboard.write(secret)).props(
            "flat dense aria-label='Copy the key' data-testid=copy-secret"
        ).mark("copy-secret")


def recovery_codes_view(codes: list[str]) -> None:
    """Ten codes, shown once: copy and download, then they are gone for good."""
    text = "\n".join(codes) + "\n"
    ui.html('<h2 class="text-lg font-bold m-0">Recovery codes</h2>', sanitize=False)
    ui.label(
        "Each code signs you in once if you lose your phone. Save them now:"
        " they are shown only this once."
    ).classes("text-sm")
    with (
        ui.element("div")
        .classes("cs-code w-full font-mono grid grid-cols-2 gap-x-4")
        .props("id=recovery-codes data-testid=recovery-codes role=list aria-label='Recovery codes'")
        .mark("recovery-codes")
    ):
        for code in codes:
            ui.label(code).classes("whitespace-nowrap select-all").props("role=listitem")
    with ui.row().classes("w-full gap-2"):
        ui.button("Copy", icon="content_copy", on_click=lambda: ui.clipboard.write(text)).props(
            "id=copy-codes data-testid=copy-codes"
        ).mark("copy-codes")
        ui.button(
            "Download",
            icon="download",
            on_click=lambda: ui.download.content(text.encode(), "cliftonsites-recovery-codes.txt"),
        ).props("id=download-codes data-testid=download-codes").mark("download-codes")
