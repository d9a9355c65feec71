"""Security headers on every response, and `Secure` on every cookie behind HTTPS.

`SecurityHeaders` is the outermost ASGI layer (`dashboard.edge` wraps FastAPI's whole
middleware stack with it, error handler included), so every route gets the headers: `/admin`
pages and assets, `/api/*`, `/healthz`, `/sites/*`, 404s, 413s and the 500 of an
unhandled error.

- Everywhere: `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin`,
  `X-Frame-Options: DENY`, `Cross-Origin-Opener-Policy: same-origin`, a
  `Permissions-Policy` that turns off camera, microphone and location, and over HTTPS
  `Strict-Transport-Security`.
- `Content-Security-Policy` on `/admin` HTML: as strict as NiceGUI allows (see
  `admin_policy`); scripts only from our origin or inline scripts whose SHA-256 is in
  the header, computed per response over the page NiceGUI rendered.
- Elsewhere a route's own CSP is kept (the sites set theirs); without one, `/sites`
  and `/claim` get `SITE_POLICY` (no script at all) and everything else (JSON, plain
  text) `API_POLICY`, which allows nothing.
- Cookies: with `COOKIE_SECURE=auto` a request that arrived over HTTPS (uvicorn's
  `proxy_headers` honour `X-Forwarded-Proto` from a trusted proxy) gets `Secure` on
  every `Set-Cookie`, NiceGUI's `session` cookie as well as our `cs_session`;
  `always` adds it on every request, `never` leaves cookies as they are.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
from typing import Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CookieSecure = Literal["auto", "always", "never"]

COMMON = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
)
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
CSP = b"content-security-policy"
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
SITE_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data: https:; font-src 'self';"
    " form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SITE_PREFIXES = ("/sites", "/claim")
ADMIN_PREFIX = "/admin"
#: Inline <script> elements (not those with a src): their bodies are what gets hashed.
INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.I)
#: The largest page held back to hash its scripts; a bigger one runs no inline script.
MAX_HTML_BYTES = 8 * 1024 * 1024


def admin_policy(script_hashes: list[str]) -> str:
    """The CSP of an `/admin` page. What NiceGUI needs, and why:

    - `script-src 'self'` plus the page's inline scripts by hash (the importmap, the
      bootstrap and the module that creates the Vue app with this page's elements);
      no `'unsafe-inline'`, so markup that reached the page cannot run a script or an
      `on...=` handler;
    - `'unsafe-eval'`: Vue compiles NiceGUI's component templates in the browser
      (`new Function`), and NiceGUI runs `run_javascript` and `js_handler` code with
      `eval`; the page does not start without it;
    - `style-src 'self' 'unsafe-inline'`: Quasar, Vue (`:style` bindings), NiceGUI's
      `addStyle`, Tailwind's in-browser compiler and plotly all write inline styles;
      styles cannot run script;
    - `img-src 'self' data:` (the TOTP QR code is a data URI), `font-src 'self' data:`,
      `connect-src 'self'` (the socket.io websocket and its polling fallback);
    - `object-src 'none'`, `base-uri 'none'`, `form-action 'self'`, and
      `frame-ancestors 'none'`: no page of ours may be framed (clickjacking).
    """
    scripts = " ".join(["'self'", "'unsafe-eval'", *(f"'sha256-{h}'" for h in script_hashes)])
    return (
        f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline';"
        " img-src 'self' data:; font-src 'self' data:; connect-src 'self';"
        " object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def inline_script_hashes(html: bytes) -> list[str]:
    """Base64 SHA-256 of each inline script's body, in order, without repeats. NiceGUI
    writes the page's elements into its own script with `<`, `>` and `&` escaped, so
    no text from the database can open or close a script: the scripts found here are
    NiceGUI's template and ours."""
    hashes: list[str] = []
    for match in INLINE_SCRIPT.finditer(html):
        digest = base64.b64encode(hashlib.sha256(match.group(1)).digest()).decode()
        if digest not in hashes:
            hashes.append(digest)
    return hashes


def is_admin(path: str) -> bool:
    return path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")


def with_secure_flag(header: bytes) -> bytes:
    """A `Set-Cookie` value with `Secure` (unchanged when it has it already)."""
    attributes = [part.strip().lower() for part in header.split(b";")[1:]]
    return header if b"secure" in attributes else header + b"; Secure"


class SecurityHeaders:
    """The outermost ASGI layer; see the module docstring."""

    def __init__(self, app: ASGIApp, *, cookie_secure: CookieSecure = "auto") -> None:
        self.app = app
        self.cookie_secure = cookie_secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"
        secure_cookies = self.cookie_secure == "always" or (self.cookie_secure == "auto" and https)
        path: str = scope.get("path", "")
        held: Message | None = None
        chunks: list[bytes] = []

        def headers_of(message: Message, policy: str | None) -> list[tuple[bytes, bytes]]:
            own = [(k, v) for k, v in message.get("headers", [])]
            names = {k.lower() for k, _ in own}
            out = []
            for key, value in own:
                lower = key.lower()
                if lower == b"set-cookie" and secure_cookies:
                    value = with_secure_flag(value)
                if lower == CSP and policy is not None and is_admin(path):
                    continue  # our admin policy replaces NiceGUI's or the guard's
                out.append((key, value))
            out += [h for h in COMMON if h[0] not in names]
            if https and HSTS[0] not in names:
                out.append(HSTS)
            if policy is not None and (is_admin(path) or CSP not in names):
                out.append((CSP, policy.encode()))
            return out

        async def wrapped(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                if is_admin(path) and _is_html(message):
                    held = message  # sent with the body, once its scripts are hashed
                    return
                message["headers"] = headers_of(message, _fallback_policy(path))
                await send(message)
                return
            if held is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
            if more and sum(map(len, chunks)) <= MAX_HTML_BYTES:
                return
            body = b"".join(chunks)
            # past the limit the page goes out as it streams, and no inline script runs
            hashes = [] if more else inline_script_hashes(_decoded(held, body))
            held["headers"] = headers_of(held, admin_policy(hashes))
            await send(held)
            held = None
            await send({"type": "http.response.body", "body": body, "more_body": more})

        await self.app(scope, receive, wrapped)


def _decoded(start: Message, body: bytes) -> bytes:
    """The page as NiceGUI rendered it: NiceGUI's GZipMiddleware (inside us) compresses
    pages for browsers that accept gzip. Any other encoding yields no scripts to hash."""
    encoding = _header(start, b"content-encoding")
    if encoding is None:
        return body
    if encoding.strip().lower() == b"gzip":
        try:
            return gzip.decompress(body)
        except (OSError, EOFError):
            return b""
    return b""


def _header(message: Message, name: bytes) -> bytes | None:
    for key, value in message.get("headers", []):
        if key.lower() == name:
            return bytes(value)
    return None


def _is_html(message: Message) -> bool:
    for key, value in message.get("headers", []):
        if key.lower() == b"content-type":
            return bytes(value).lower().startswith(b"text/html")
    return False


def _fallback_policy(path: str) -> str:
    """The CSP for a response that is not an `/admin` HTML page."""
    if is_admin(path):
        return API_POLICY  # assets, JSON, the socket's polling answers: nothing to run
    if path.startswith(SITE_PREFIXES):
        return SITE_POLICY
    return API_POLICY
