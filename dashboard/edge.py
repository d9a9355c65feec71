"""The layers every request passes first, outside FastAPI's own middleware stack:
`SecurityHeaders` (headers and `Secure` cookies on every response), then `BodyLimit`
(no body over `MAX_BODY_BYTES`).

They wrap Starlette's `ServerErrorMiddleware` too (`app.add_middleware` would put them
inside it), so even the 500 of an unhandled error carries the headers, and a 413 sent
while a route was reading is not followed by that route's error.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from starlette.types import ASGIApp

from dashboard.body_limit import BodyLimit
from dashboard.security_headers import SecurityHeaders
from dashboard.settings import Settings


def install_edge(app: FastAPI, settings: Settings) -> None:
    """Wrap `app`'s whole middleware stack (built at its first request) in the edge."""
    build: Callable[[], ASGIApp] = app.build_middleware_stack

    def build_with_edge() -> ASGIApp:
        limited = BodyLimit(build(), max_bytes=settings.max_body_bytes)
        return SecurityHeaders(limited, cookie_secure=settings.cookie_secure)

    app.build_middleware_stack = build_with_edge  # type: ignore[method-assign]
