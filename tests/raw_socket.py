"""Test helper (no tests here): what an attacker's script does with NiceGUI's socket.

A page is fetched over plain HTTP (`httpx`, with or without the admin's cookies); its
HTML carries the page's client id, the query its own socket connects with, and every
element with its listeners (`parseElements(String.raw`...`)`). A raw socket.io client
(python-socketio, aiohttp for the websocket transport) then connects to
`/admin/_nicegui_ws/socket.io` and sends NiceGUI's messages by hand: `event`,
`javascript_response`, `ack`, `log`, `handshake`.
"""

from __future__ import annotations

import ast
import asyncio
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pyotp
import socketio

from dashboard.auth.admins import create_admin
from dashboard.auth.provider import Identity
from dashboard.auth.service import AuthService
from dashboard.backends.postgres import PostgresBackend

SOCKET_PATH = "/admin/_nicegui_ws/socket.io"
_QUERY = re.compile(r"query: (\{[^{}]*\}),")
_ELEMENTS = re.compile(r"parseElements\(String\.raw`(.*?)`\)", re.S)


@dataclass
class Page:
    """One page as its HTML describes it."""

    client_id: str
    query: dict[str, Any]
    elements: dict[str, Any]
    cookies: dict[str, str]

    def listener(self, tag: str, event_type: str, label: str | None = None) -> tuple[int, str]:
        """(element id, listener id) of the first `tag` element listening to `event_type`
        (and labelled `label`, when given)."""
        for element_id, element in self.elements.items():
            if element.get("tag") != tag:
                continue
            if label is not None and element.get("props", {}).get("label") != label:
                continue
            for listener in element.get("events", []):
                if listener.get("type") == event_type:
                    return int(element_id), str(listener["listener_id"])
        raise AssertionError(f"no {tag} {label or ''} listening to {event_type!r} on the page")


def fetch_page(base: str, path: str, cookies: dict[str, str] | None = None) -> Page:
    """GET `/admin{path}` as a browser would (it keeps the cookies the page sets)."""
    with httpx.Client(base_url=base, cookies=cookies or {}, follow_redirects=False) as http:
        response = http.get(f"/admin{path}")
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text[:300]}"
        jar = {c.name: c.value for c in http.cookies.jar if c.value is not None}
    html = response.text
    query_match = _QUERY.search(html)
    elements_match = _ELEMENTS.search(html)
    assert query_match and elements_match, "the page's socket query and elements are in its HTML"
    query = ast.literal_eval(query_match.group(1))  # a Python dict literal in the page
    elements = json.loads(elements_match.group(1))
    return Page(str(query["client_id"]), query, elements, jar)


@dataclass
class RawSocket:
    """A socket.io connection that records every message the server sends it."""

    sio: socketio.AsyncClient
    received: list[tuple[str, Any]] = field(default_factory=list)
    disconnected: asyncio.Event = field(default_factory=asyncio.Event)
    disconnected_at: float | None = None  # time.monotonic() of the disconnect

    async def emit(self, event: str, data: dict[str, Any]) -> None:
        await self.sio.emit(event, data)

    def updates(self) -> list[Any]:
        return [data for name, data in self.received if name == "update"]

    async def close(self) -> None:
        await self.sio.disconnect()


async def connect(
    base: str,
    *,
    cookies: dict[str, str] | None = None,
    query: dict[str, Any] | None = None,
) -> RawSocket:
    """Open a socket, with the page's own query (its implicit handshake) or none.

    Raises `socketio.exceptions.ConnectionError` when the server refuses it."""
    sio = socketio.AsyncClient(reconnection=False)
    raw = RawSocket(sio)

    async def record(event: str, *args: Any) -> None:
        raw.received.append((event, args[0] if args else None))

    sio.on("*", record)

    def gone(*_reason: Any) -> None:
        raw.disconnected_at = time.monotonic()
        raw.disconnected.set()

    sio.on("disconnect", gone)
    url = base
    if query:
        fields = {k: v for k, v in query.items() if v is not None}
        fields.setdefault("document_id", str(uuid.uuid4()))
        fields.setdefault("tab_id", str(uuid.uuid4()))
        url += (
            "/?"
            + httpx.QueryParams(
                {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in fields.items()}
            ).__str__()
        )
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in (cookies or {}).items())}
    await sio.connect(
        url,
        headers=headers if cookies else {},
        transports=["websocket"],
        socketio_path=SOCKET_PATH,
        wait_timeout=10,
    )
    return raw


def event(page: Page, element_id: int, listener_id: str, *args: Any) -> dict[str, Any]:
    """NiceGUI's `event` message for a listener of `page` (args JSON-encoded, as the
    browser sends them)."""
    return {
        "id": element_id,
        "client_id": page.client_id,
        "listener_id": listener_id,
        "args": [json.dumps(a) for a in args] or ["null"],
    }


async def admin_cookie(database_url: str, secret_key: str, email: str, password: str) -> str:
    """An admin with a verified TOTP factor and a live AAL2 session: its `cs_session`
    cookie value, made through the auth service as the sign-in pages make it."""
    user_id = await asyncio.to_thread(create_admin, database_url, email, password)
    db = await PostgresBackend(database_url, max_size=2).open()
    try:
        auth = AuthService.local(db, secret_key)
        identity = Identity(user_id, email)
        enrollment = await auth.provider.enroll(identity)
        code = pyotp.TOTP(enrollment.secret).now()
        await auth.provider.verify(identity, enrollment.factor_id, code)
        handoff = await auth.sessions.start(
            user_id=user_id,
            email=email,
            aal="aal2",
            factor_id=enrollment.factor_id,
            binding=None,
            next_path="/",
            ip=None,
            user_agent=None,
        )
        token, _session, _next = await auth.sessions.redeem(handoff.ticket, None)
        return token
    finally:
        await db.close()
