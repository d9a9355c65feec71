"""Checks that others call: `require_admin()` in NiceGUI handlers (`as_admin()` when the
action may raise `AuthError`), `step_up()` before dangerous commands, and
`require_admin_api` as a FastAPI dependency.

A page that is already open keeps its handlers alive after logout (in this tab or
another), so every handler that acts must ask the database again, at that moment:

    async def on_stop() -> None:
        admin = await require_admin()
        if admin is None:
            return  # the admin was told and sent to the login page
        if not await step_up(code_input.value):
            return
        ...

`require_admin()` returns None rather than raising, because an exception in a NiceGUI
handler is logged as an error; mypy --strict makes callers handle the None.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import quote, urlsplit

from fastapi import HTTPException, Request
from nicegui import ui
from starlette.requests import HTTPConnection

from dashboard.auth import get_auth
from dashboard.auth.audit import RequestMeta
from dashboard.auth.provider import AuthError
from dashboard.auth.sessions import AdminSession

COOKIE_NAME = "cs_session"
SIGNED_OUT_MESSAGE = "Your session has ended. Sign in again."
T = TypeVar("T")


def request_meta(conn: HTTPConnection) -> RequestMeta:
    """Address, user agent, and NiceGUI's browser id (the handoff is bound to it)."""
    binding = conn.session.get("id") if "session" in conn.scope else None
    return RequestMeta(
        ip=conn.client.host if conn.client else None,
        user_agent=conn.headers.get("user-agent"),
        binding=str(binding) if binding else None,
    )


def is_same_origin(conn: HTTPConnection, public_base_url: str | None = None) -> bool:
    """True unless the browser says the request comes from another site.

    Browsers send `Origin` on every cross-origin POST and websocket handshake; a missing
    Origin (curl, tests) is judged by `Sec-Fetch-Site` when present.
    """
    origin = conn.headers.get("origin")
    if origin is None:
        return conn.headers.get("sec-fetch-site", "same-origin") in {"same-origin", "none"}
    netloc = urlsplit(origin).netloc
    allowed = {conn.headers.get("host", "")}
    if public_base_url:
        allowed.add(urlsplit(public_base_url).netloc)
    return bool(netloc) and netloc in allowed


def _client_request() -> Request:
    return ui.context.client.request


def page_meta() -> RequestMeta:
    """The request meta of the page this handler belongs to."""
    return request_meta(_client_request())


async def page_session(*, touch: bool = True) -> AdminSession | None:
    """The session of the current NiceGUI page's cookie, as the database sees it now."""
    token = _client_request().cookies.get(COOKIE_NAME)
    return await get_auth().current(token, touch=touch)


async def require_admin() -> AdminSession | None:
    """The AAL2 session acting right now, or None after telling the admin and
    navigating to the login page."""
    session = await page_session()
    if session is not None and session.is_aal2:
        return session
    ui.notify(SIGNED_OUT_MESSAGE, type="warning")
    path = _client_request().url.path
    root = _client_request().scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    ui.navigate.to(f"/login?next={quote(path or '/', safe='/')}")
    return None


async def as_admin(action: Callable[[AdminSession], Awaitable[T]]) -> T | None:
    """`action` for the AAL2 session acting right now, and its result; None after telling
    the admin why not: signed out (sent to the login page, as `require_admin`), or the
    `AuthError` that `action` raised (its message as a notice)."""
    session = await require_admin()
    if session is None:
        return None
    try:
        return await action(session)
    except AuthError as exc:
        ui.notify(str(exc), type="negative")
        return None


async def step_up(code: str) -> bool:
    """Ask for a fresh TOTP code before a dangerous action; False (and a notice) if not right."""

    async def check(session: AdminSession) -> bool:
        await get_auth().step_up(session, code, page_meta())
        return True

    return await as_admin(check) is not None


async def require_admin_api(request: Request) -> AdminSession:
    """FastAPI dependency for `/api/admin/*`: same origin, and an AAL2 session cookie."""
    settings_url = None
    try:
        from dashboard.runtime import get_runtime

        settings_url = get_runtime().settings.public_base_url
    except RuntimeError:
        pass
    if not is_same_origin(request, settings_url):
        raise HTTPException(403, "cross-origin request refused: call this from the admin pages")
    session = await get_auth().current(request.cookies.get(COOKIE_NAME))
    if session is None:
        raise HTTPException(401, "not signed in: sign in at /admin/login")
    if not session.is_aal2:
        raise HTTPException(403, "second factor required: finish signing in at /admin/mfa")
    return session
