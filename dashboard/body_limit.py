"""`BodyLimit`: no request body over `MAX_BODY_BYTES` (default 1 MB) is ever read whole.

An ASGI middleware on the whole app (webhooks, internal and admin routes, `/admin`):
- a `Content-Length` over the limit is answered 413 before the app runs, so nothing
  of the body is read;
- a body sent without a length (chunked) is counted as it streams in: once the count
  passes the limit the client gets 413 at once and the app is told the client went
  away (`http.disconnect`), so it stops reading and never sees the rest.

Routes then authenticate before they parse (a signature or secret is checked on the
raw bytes first), and JSON they parse is bounded by this limit.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


def too_large_body(limit: int) -> bytes:
    return json.dumps({"error": f"the request body is over the limit of {limit} bytes"}).encode()


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)
            return
        received = 0
        started = False
        refused = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    refused = True
                    if not started:
                        await self._refuse(send)
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the client has its 413; whatever the app says now goes nowhere
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except Exception:
            if not refused:
                raise
            # the app failed on the body it was denied (e.g. ClientDisconnect): answered

    async def _refuse(self, send: Send) -> None:
        body = too_large_body(self.max_bytes)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
