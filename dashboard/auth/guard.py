"""The `/admin` guard (pure ASGI middleware) and the two HTTP routes of sign-in.

`AdminGuard` is registered on NiceGUI's app before `ui.run_with`, so it runs inside
NiceGUI's session middleware. For every request it:
- refuses websocket handshakes and unsafe methods (POST, ...) from another origin;
- lets `/_nicegui*` assets and the socket through (the socket only after that check);
- lets `/login`, `/auth/complete`, `/logout` through; `/mfa` and `/setup-mfa` need a
  session from the password step; every other path needs an AAL2 session.
Security headers (CSP, nosniff, HSTS, ...) are added outside, for every route, by
`dashboard.security_headers`.

Routes: `GET /auth/complete?ticket=` turns a handoff ticket into the session cookie;
`GET /logout` ends the session and clears the cookie.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from dashboard.auth import get_auth
from dashboard.auth.access import COOKIE_NAME, is_same_origin, request_meta
from dashboard.auth.service import safe_next
from dashboard.auth.sessions import ABSOLUTE_TIMEOUT, AdminSession
from dashboard.runtime import get_runtime

PUBLIC_PATHS = frozenset({"/login", "/auth/complete", "/logout", "/favicon.ico"})
#: NiceGUI's files and the app's assets (CSS, logo): the sign-in pages need them too.
OPEN_PREFIXES = ("/_nicegui", "/assets/")
STEP_PATHS = frozenset({"/mfa", "/setup-mfa"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def relative_path(scope: Scope) -> str:
    path: str = scope.get("path", "/")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path or "/"


def _secure(scope: Scope) -> bool:
    mode = get_runtime().settings.cookie_secure
    return mode == "always" or (mode == "auto" and scope.get("scheme") in {"https", "wss"})


class AdminGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        unsafe = scope["type"] == "websocket" or scope.get("method", "GET") not in SAFE_METHODS
        if unsafe and not is_same_origin(conn, get_runtime().settings.public_base_url):
            await self._refuse(scope, receive, send, 403, "cross-origin request refused")
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        denial = await self._check(scope, conn)
        if denial is not None:
            await denial(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _check(self, scope: Scope, conn: HTTPConnection) -> Response | None:
        path = relative_path(scope)
        if path.startswith(OPEN_PREFIXES) or (path in PUBLIC_PATHS and path != "/login"):
            return None
        session = await get_auth().current(conn.cookies.get(COOKIE_NAME))
        scope.setdefault("state", {})["admin_session"] = session
        root = scope.get("root_path", "")
        target = path + (f"?{scope['query_string'].decode()}" if scope.get("query_string") else "")
        if path == "/login":  # already signed in: on to where the sign-in would go
            if session and session.is_aal2:
                return _redirect(root + safe_next(conn.query_params.get("next")))
            return None
        if path in STEP_PATHS:
            if session is None:
                return _to_login(scope, root, "/")
            return _redirect(root + "/") if session.is_aal2 and path == "/mfa" else None
        if session is not None and session.is_aal2:
            return None
        if scope.get("method") not in SAFE_METHODS:
            return PlainTextResponse("sign in with your second factor first", status_code=401)
        if session is None:
            return _to_login(scope, root, target)
        return _redirect(f"{root}/mfa?next={quote(target, safe='/')}")

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, text: str) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": text})
            return
        await PlainTextResponse(text, status_code=status)(scope, receive, send)


def _redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def _to_login(scope: Scope, root: str, target: str) -> Response:
    suffix = "" if target in {"/", ""} else f"?next={quote(target, safe='/')}"
    return _redirect(f"{root}/login{suffix}")


def set_session_cookie(response: Response, scope: Scope, token: str) -> None:
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=int(ABSOLUTE_TIMEOUT.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(scope),
    )


def clear_session_cookie(response: Response, scope: Scope) -> None:
    response.delete_cookie(
        COOKIE_NAME, path="/", httponly=True, samesite="lax", secure=_secure(scope)
    )


async def complete(request: Request) -> Response:
    """Redeem a handoff ticket: set the rotated cookie, go to the next step."""
    root = request.scope.get("root_path", "")
    meta = request_meta(request)
    try:
        token, _, next_path = await get_auth().redeem(
            request.query_params.get("ticket", ""), meta.binding
        )
    except LookupError:
        return _redirect(f"{root}/login?expired=1")
    response = _redirect(root + next_path)
    set_session_cookie(response, request.scope, token)
    return response


async def logout(request: Request) -> Response:
    """End the session (unless another site sent the browser here) and clear the cookie."""
    root = request.scope.get("root_path", "")
    response = _redirect(f"{root}/login?signed_out=1")
    if request.headers.get("sec-fetch-site") == "cross-site":
        return _redirect(f"{root}/login")
    auth = get_auth()
    session: AdminSession | None = await auth.current(request.cookies.get(COOKIE_NAME), touch=False)
    if session is not None:
        await auth.logout(session, request_meta(request))
    clear_session_cookie(response, request.scope)
    return response


def install(app: FastAPI) -> None:
    """Add the guard and the routes to NiceGUI's app (before `ui.run` / `ui.run_with`)."""
    app.add_middleware(AdminGuard)
    app.add_api_route("/auth/complete", complete, methods=["GET"], include_in_schema=False)
    app.add_api_route("/logout", logout, methods=["GET"], include_in_schema=False)
