"""The generated sites' own origin: which host serves `/sites/*` and `/claim/*`.

A site's content comes from the outside world (a business's name, address, ...), so it
must not share an origin with the admin app: a flaw in a site would otherwise run with
the admin's cookies. With `SITES_BASE_URL` set to another host than the app's, requests
are told apart by their `Host` header:

- on the sites host only `/sites/*`, `/claim/*` and `/healthz` answer; everything else
  (`/admin`, `/api`, ...) is 404;
- on any other host (the admin's) `/sites/*` and `/claim/*` are 404.

One process and one port can serve both: the demo answers the admin on
`http://127.0.0.1:PORT` and the sites on `http://localhost:PORT`, two origins for the
browser (a cookie set by 127.0.0.1 is never sent to localhost). Without
`SITES_BASE_URL`, or with it equal to the app's own address, nothing is split (one
origin, as before); the sites keep their CSP either way.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

#: The sites need no script: none may run, and nothing may frame them.
SITE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data: https:; font-src 'self';"
    " form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SITE_HEADERS = {
    "Content-Security-Policy": SITE_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
SITE_PREFIXES = ("/sites/", "/claim/")
SITE_HOST_ALSO = ("/healthz",)
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def site_url(sites_base_url: str, uuid: str) -> str:
    """Where site `uuid` is served: `<sites origin>/sites/<uuid>/` (Settings.sites_url),
    whatever preview_url was stored when it was deployed or seeded."""
    return f"{sites_base_url.rstrip('/')}/sites/{uuid}/"


def origin_key(url: str) -> str:
    """`host[:port]` of a base URL, lower case, without the scheme's default port."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port
    if port is None or str(port) == _DEFAULT_PORTS.get(parts.scheme, ""):
        return host
    return f"{host}:{port}"


def host_key(host_header: str) -> str:
    """The same key for a `Host` header (either default port is dropped)."""
    host = host_header.strip().lower()
    for port in _DEFAULT_PORTS.values():
        if host.endswith(f":{port}") and not host.endswith("]"):
            return host[: -len(port) - 1]
    return host


def is_site_path(path: str) -> bool:
    return path.startswith(SITE_PREFIXES) or path in ("/sites", "/claim")


class SiteHostSplit:
    """ASGI middleware: the sites host serves only sites, the others never do."""

    def __init__(self, app: ASGIApp, *, sites_base_url: str | None, app_base_url: str) -> None:
        self.app = app
        self.sites_key = origin_key(sites_base_url) if sites_base_url else None
        if self.sites_key == origin_key(app_base_url):
            self.sites_key = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.sites_key is None or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
        path: str = scope.get("path", "")
        on_sites_host = host_key(host) == self.sites_key
        allowed = (
            (is_site_path(path) or path in SITE_HOST_ALSO)
            if on_sites_host
            else not (is_site_path(path))
        )
        if allowed:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
        else:
            await _not_found(send)


async def _not_found(send: Send) -> None:
    body = b"Not found."
    await send(
        {
            "type": "http.response.start",
            "status": 404,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"x-content-type-options", b"nosniff"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
