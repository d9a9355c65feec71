"""Lightweight dashboard clients: a real page load over HTTP, then NiceGUI's own
Socket.IO handshake, so the server builds and keeps a full client for each one.

Each `PageClient` signs in with its own handoff ticket (the project's auth), loads
`/admin/` (the overview), connects the socket the way nicegui.js does (same query,
same Origin, the session cookies) and records when an `update` carrying a wanted text
arrives. No browser rendering: the server-side cost is the same as for a browser.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import socketio

CLIENT_ID = re.compile(r"""['"]client_id['"]\s*:\s*['"]([0-9a-f-]+)['"]""")
NEXT_MESSAGE = re.compile(r"""['"]next_message_id['"]\s*:\s*(\d+)""")
HTML_TEXT = re.compile(r">([^<]+)<")


@dataclass
class PageClient:
    base: str
    ticket: str
    client_id: str = ""
    sio: socketio.AsyncClient | None = None
    wanted: str | None = None
    arrived_at: float | None = None
    updates: int = 0
    disconnected_at: float | None = None
    cookies: dict[str, str] = field(default_factory=dict)

    async def open(self, path: str = "/admin/") -> None:
        async with httpx.AsyncClient(base_url=self.base, timeout=60) as http:
            done = await http.get(f"/admin/auth/complete?ticket={self.ticket}")
            if done.status_code not in (302, 303):
                raise RuntimeError(f"sign-in refused: {done.status_code} {done.text[:200]}")
            page = await http.get(path)
            page.raise_for_status()
            self.cookies = dict(http.cookies)
        found, nxt = CLIENT_ID.search(page.text), NEXT_MESSAGE.search(page.text)
        if found is None:
            raise RuntimeError(f"no NiceGUI client id in {path}: {page.text[:300]}")
        self.client_id = found.group(1)
        query = {
            "client_id": self.client_id,
            "next_message_id": nxt.group(1) if nxt else "0",
            "implicit_handshake": "true",
            "document_id": str(uuid.uuid4()),
            "tab_id": str(uuid.uuid4()),
            "old_tab_id": "",
        }
        self.sio = socketio.AsyncClient(reconnection=False)
        self.sio.on("update", self._on_update)
        self.sio.on("disconnect", self._on_disconnect)
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        await self.sio.connect(
            f"{self.base}?{httpx.QueryParams(query)}",
            socketio_path="/admin/_nicegui_ws/socket.io",
            transports=["websocket"],
            headers={"Origin": self.base, "Cookie": cookie},
            wait_timeout=30,
        )

    async def _on_update(self, data: Any) -> None:
        self.updates += 1
        if self.wanted is not None and self.arrived_at is None and self.wanted in _texts(data):
            self.arrived_at = time.time()

    def _on_disconnect(self, *_reason: Any) -> None:
        self.disconnected_at = time.time()

    @property
    def connected(self) -> bool:
        return self.sio is not None and self.sio.connected and self.disconnected_at is None

    def expect(self, text: str) -> None:
        self.wanted, self.arrived_at = text, None

    async def close(self) -> None:
        if self.sio is not None and self.sio.connected:
            await self.sio.disconnect()


def _texts(data: Any) -> set[str]:
    """The `text` of every element in an update, and every text cell of an html element's
    content (the overview's cards are escaped html blocks); a fallback over the raw JSON."""
    found: set[str] = set()
    elements = data.get("elements", data) if isinstance(data, dict) else {}
    for element in elements.values() if isinstance(elements, dict) else ():
        if isinstance(element, dict) and isinstance(element.get("text"), str):
            found.add(element["text"])
        props = element.get("props") if isinstance(element, dict) else None
        if isinstance(props, dict) and isinstance(props.get("innerHTML"), str):
            found.update(html.unescape(t) for t in HTML_TEXT.findall(props["innerHTML"]))
    if not found:
        found.update(re.findall(r'"text":\s*"([^"]*)"', json.dumps(data)))
    return found


async def open_clients(base: str, tickets: list[str], concurrency: int = 4) -> list[PageClient]:
    """Open one client per ticket, `concurrency` page loads at a time."""
    gate = asyncio.Semaphore(concurrency)
    clients = [PageClient(base, t) for t in tickets]

    async def one(c: PageClient) -> None:
        async with gate:
            await c.open()

    await asyncio.gather(*(one(c) for c in clients))
    return clients
