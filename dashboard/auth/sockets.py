"""NiceGUI's socket messages count only from the page's own socket, with the page's session.

NiceGUI routes every client message (`event`, `javascript_response`, `ack`, `log`) by
the `client_id` written inside it, never by the socket that sent it, so a raw
socket.io connection with no cookie could click an admin's buttons by naming the
admin's page. `install(core.sio)` wraps NiceGUI's own handlers (re-registered with
python-socketio's public `sio.on`, each calling NiceGUI's original):

- `connect` (NiceGUI's implicit handshake) and `handshake` bind a socket to a page
  only when the socket's own HTTP request carried the page's cookies: the same
  NiceGUI browser id and the same `cs_session` cookie the page was built with, and,
  for every page but the sign-in pages, a session that is still live and is the
  page's session. A refused implicit handshake is refused with NiceGUI's own message,
  so a real browser reloads (and meets the guard);
- `event` is dispatched only from a socket bound to that page, after the session is
  read again (one indexed read; events of one socket keep their order);
- `javascript_response`, `ack` and any message NiceGUI adds later count only from a
  bound socket;
- `log` never reaches the server log as the visitor wrote it: from a bound socket it
  becomes one escaped, bounded line at debug level; otherwise it is dropped.

A dropped message is logged once per connection (its kind and the peer's address,
never its content or the page's id). `tests/auth/test_socket_guard.py` pins the NiceGUI
handlers this relies on, so an upgrade that changes them fails there first.
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import socketio
from nicegui.client import Client
from starlette.requests import cookie_parser

from dashboard.auth import open_pages
from dashboard.auth.access import COOKIE_NAME

log = logging.getLogger(__name__)

#: The messages NiceGUI 3.18 handles (pinned by the tests).
NICEGUI_MESSAGES = frozenset(
    {"connect", "handshake", "disconnect", "event", "javascript_response", "ack", "log"}
)
#: A client `log` message kept at debug level is cut to this many characters.
MAX_LOG_CHARS = 200
_MARK = "_cliftonsites_socket_guard"


@dataclass(frozen=True)
class Binding:
    """A socket bound to one page: the cookie it connected with, the page's session."""

    client_id: str
    token: str | None
    session_id: str | None


class SocketGuard:
    """The state behind the wrapped handlers: which socket is bound to which page."""

    def __init__(self, sio: socketio.AsyncServer, originals: dict[str, Callable[..., Any]]):
        self.sio = sio
        self.originals = originals
        self.bindings: dict[str, dict[str, Binding]] = {}  # socket id -> client id -> binding
        self.locks: dict[str, asyncio.Lock] = {}
        self.reported: set[str] = set()

    # --- binding ------------------------------------------------------------------
    async def admit(self, environ: dict[str, Any] | None, data: Any) -> Binding | None:
        """The binding a handshake for `data['client_id']` earns, or None."""
        if not isinstance(data, dict) or not isinstance(data.get("client_id"), str):
            return None
        client = Client.instances.get(data["client_id"])
        if client is None or open_pages.is_ending(client.id) or not environ:
            return None
        page = open_pages.page_identity(client)
        if page is None or page.browser_id is None:
            return None
        scope = environ.get("asgi.scope") or {}
        browser = (scope.get("session") or {}).get("id")
        token = cookie_parser(str(environ.get("HTTP_COOKIE", ""))).get(COOKIE_NAME)
        if not _same(str(browser) if browser else None, page.browser_id):
            return None
        if not _same(token, page.token):
            return None
        binding = Binding(client.id, token, page.session_id)
        try:
            holds = await self.session_holds(binding)
        except Exception:  # the database is away: no socket binds until it is back
            log.exception("could not check the session of a socket's handshake")
            return None
        return binding if holds else None

    async def session_holds(self, binding: Binding) -> bool:
        if binding.session_id is None:  # a sign-in page: its handlers check the session
            return True
        from dashboard.auth import get_auth

        session = await get_auth().current(binding.token, touch=False)
        return session is not None and session.is_aal2 and session.id == binding.session_id

    def bind(self, sid: str, binding: Binding) -> None:
        self.bindings.setdefault(sid, {})[binding.client_id] = binding

    def bound(self, sid: str, msg: Any) -> Binding | None:
        if not isinstance(msg, dict) or not isinstance(msg.get("client_id"), str):
            return None
        binding = self.bindings.get(sid, {}).get(msg["client_id"])
        if binding is None or open_pages.is_ending(binding.client_id):
            return None
        return binding

    def forget(self, sid: str) -> None:
        self.bindings.pop(sid, None)
        self.locks.pop(sid, None)
        self.reported.discard(sid)

    def report(self, sid: str, kind: str, reason: str) -> None:
        """Log a dropped message once per connection, without its content."""
        if sid in self.reported:
            return
        self.reported.add(sid)
        environ = self.sio.get_environ(sid) or {}
        log.warning(
            "dropped a socket message (%s) from %s: %s; later drops on this connection"
            " are not logged",
            kind,
            str(environ.get("REMOTE_ADDR", "?"))[:64],
            reason,
        )

    # --- the wrapped handlers --------------------------------------------------------
    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> Any:
        query = {k: v[0] for k, v in parse_qs(str(environ.get("QUERY_STRING", ""))).items()}
        if query.get("implicit_handshake") != "true":
            return await _call(self.originals["connect"], sid, environ, auth)
        binding = await self.admit(environ, query)
        if binding is None:
            self.report(sid, "handshake", "the socket does not carry the page's session")
            raise socketio.exceptions.ConnectionRefusedError("Implicit handshake failed")
        result = await _call(self.originals["connect"], sid, environ, auth)
        self.bind(sid, binding)
        return result

    async def on_handshake(self, sid: str, data: Any) -> bool:
        binding = await self.admit(self.sio.get_environ(sid), data)
        if binding is None:
            self.report(sid, "handshake", "the socket does not carry the page's session")
            return False
        accepted = bool(await _call(self.originals["handshake"], sid, data))
        if accepted:
            self.bind(sid, binding)
        return accepted

    async def on_disconnect(self, sid: str, *_reason: Any) -> None:
        try:
            await _call(self.originals["disconnect"], sid)
        finally:
            self.forget(sid)

    async def on_event(self, sid: str, msg: Any) -> None:
        binding = self.bound(sid, msg)
        if binding is None:
            self.report(sid, "event", "the socket is not bound to that page")
            return
        async with self.locks.setdefault(sid, asyncio.Lock()):  # keep this socket's order
            try:
                holds = await self.session_holds(binding)
            except Exception:
                log.exception("could not check the session of a page's event")
                holds = False
            if not holds:
                self.report(sid, "event", "the page's session has ended")
                return
            await _call(self.originals["event"], sid, msg)

    async def on_log(self, sid: str, msg: Any) -> None:
        if self.bound(sid, msg) is None:
            self.report(sid, "log", "the socket is not bound to that page")
            return
        level = str(msg.get("level", ""))[:10]
        text = str(msg.get("message", ""))
        log.debug(
            "browser log (%s, %d chars): %s",
            level.encode("unicode_escape").decode("ascii"),
            len(text),
            text[:MAX_LOG_CHARS].encode("unicode_escape").decode("ascii"),
        )

    def bound_only(self, name: str) -> Callable[[str, Any], Any]:
        """`javascript_response`, `ack` and any later message: from a bound socket only."""

        async def handler(sid: str, msg: Any) -> Any:
            if self.bound(sid, msg) is None:
                self.report(sid, name, "the socket is not bound to that page")
                return None
            return await _call(self.originals[name], sid, msg)

        return handler


def _same(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a is b
    return hmac.compare_digest(a.encode(), b.encode())


async def _call(handler: Callable[..., Any], *args: Any) -> Any:
    result = handler(*args)
    return await result if inspect.isawaitable(result) else result


_guards: list[SocketGuard] = []


def install(sio: socketio.AsyncServer) -> SocketGuard:
    """Wrap NiceGUI's handlers on `sio` (idempotent: a second call changes nothing)."""
    handlers: dict[str, Callable[..., Any]] = sio.handlers.get("/", {})
    if any(getattr(h, _MARK, False) for h in handlers.values()):
        return _guards[-1]
    missing = {"connect", "handshake", "disconnect", "event"} - set(handlers)
    if missing:
        raise RuntimeError(
            f"NiceGUI no longer registers the socket handlers {sorted(missing)}:"
            " dashboard/auth/sockets.py must be brought up to date with it"
        )
    guard = SocketGuard(sio, dict(handlers))
    special: dict[str, Callable[..., Any]] = {
        "connect": guard.on_connect,
        "handshake": guard.on_handshake,
        "disconnect": guard.on_disconnect,
        "event": guard.on_event,
        "log": guard.on_log,
    }
    for name in list(handlers):
        wrapper = special.get(name) or guard.bound_only(name)
        setattr(getattr(wrapper, "__func__", wrapper), _MARK, True)
        sio.on(name, wrapper)
    _guards.append(guard)
    return guard
