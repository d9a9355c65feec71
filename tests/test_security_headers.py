"""Security headers on every kind of route, `Secure` cookies behind HTTPS, and the
`/admin` CSP's script hashes (dashboard.security_headers, wired by dashboard.edge).

The real app without the NiceGUI mount over httpx's ASGI transport; the `/admin` pages
themselves, in Chromium, are in tests/browser/test_browser_security.py.
"""

from __future__ import annotations

import base64
import hashlib

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, PlainTextResponse

from dashboard.edge import install_edge
from dashboard.security_headers import API_POLICY, SITE_POLICY, inline_script_hashes
from dashboard.settings import load_settings
from tests.routes_support import Money, app

COMMON = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"


def assert_common(response: httpx.Response) -> None:
    for name, value in COMMON.items():
        assert response.headers.get(name) == value, (response.request.url, name)
    assert "camera=()" in response.headers["permissions-policy"]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


@pytest.mark.parametrize(
    ("method", "path", "status", "policy"),
    [
        ("GET", "/healthz", 503, API_POLICY),  # no live feed in these tests
        ("GET", "/openapi.json", 200, API_POLICY),
        ("POST", "/api/stripe-webhook", 400, API_POLICY),
        ("POST", "/api/outreach/webhook-events", 401, API_POLICY),
        ("POST", "/api/internal/activate-site", 401, API_POLICY),
        ("POST", "/api/admin/automation/command", 401, API_POLICY),
        ("GET", "/api/admin/export/logs.csv", 401, API_POLICY),
        ("GET", "/sites/abcdefgh/", 404, SITE_POLICY),
        ("GET", "/sites/abcdefgh/..%2f..%2fsecrets.env", 404, SITE_POLICY),
        ("GET", "/no/such/route", 404, API_POLICY),
        ("PUT", "/healthz", 405, API_POLICY),
    ],
)
async def test_every_kind_of_route_and_error_carries_the_headers(
    money: Money, method: str, path: str, status: int, policy: str
) -> None:
    response = await money.client.request(method, path, content=b"{}")
    assert response.status_code == status, response.text
    assert_common(response)
    assert response.headers["content-security-policy"] == policy
    assert "strict-transport-security" not in response.headers  # plain HTTP here


async def test_over_https_every_route_also_gets_hsts(money: Money) -> None:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="https://admin.test") as client:
        for path in ("/healthz", "/api/stripe-webhook", "/sites/abcdefgh/", "/nope"):
            response = await client.get(path)
            assert response.headers["strict-transport-security"] == HSTS, path
            assert_common(response)


def small_app(cookie_secure: str) -> FastAPI:
    """An app with the edge, a route that fails, one that sets both cookies, one with
    its own CSP, and an `/admin` page with inline and external scripts."""
    settings = load_settings(secret_key="k" * 40, cookie_secure=cookie_secure)
    test_app = FastAPI()
    install_edge(test_app, settings)

    @test_app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("an unhandled error")

    @test_app.get("/admin/login")
    async def login() -> HTMLResponse:
        page = HTMLResponse(PAGE)
        page.set_cookie("session", "nicegui-browser-id", httponly=True, samesite="lax")
        page.set_cookie("cs_session", "token", httponly=True, samesite="lax", secure=True)
        return page

    @test_app.get("/sites/own")
    async def own() -> PlainTextResponse:
        return PlainTextResponse("x", headers={"Content-Security-Policy": "default-src 'self'"})

    return test_app


PAGE = (
    '<html><head><script type="importmap">{"imports": {}}</script>'
    '<script src="/admin/_nicegui/x.js"></script><script>addStyle = 1;</script></head>'
    "<body><script type='module'>createApp(1);</script>"
    "<script>addStyle = 1;</script></body></html>"
)


def client_for(test_app: FastAPI, scheme: str = "http") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=test_app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url=f"{scheme}://admin.test")


async def test_the_500_of_an_unhandled_error_carries_the_headers() -> None:
    async with client_for(small_app("auto"), "https") as client:
        response = await client.get("/boom")
    assert response.status_code == 500
    assert_common(response)
    assert response.headers["strict-transport-security"] == HSTS


def set_cookies(response: httpx.Response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.get_list("set-cookie")}


@pytest.mark.parametrize(
    ("cookie_secure", "scheme", "secure"),
    [
        ("auto", "https", True),
        ("auto", "http", False),
        ("always", "http", True),
        ("never", "https", False),
    ],
)
async def test_both_cookies_are_secure_behind_https(
    cookie_secure: str, scheme: str, secure: bool
) -> None:
    async with client_for(small_app(cookie_secure), scheme) as client:
        cookies = set_cookies(await client.get("/admin/login"))
    nicegui = cookies["session"].lower()
    assert ("; secure" in nicegui) is secure
    assert nicegui.count("secure") <= 1
    assert cookies["cs_session"].lower().count("; secure") == 1  # set Secure already: once


async def test_the_admin_csp_allows_exactly_the_pages_own_inline_scripts() -> None:
    async with client_for(small_app("auto")) as client:
        response = await client.get("/admin/login")
    policy = response.headers["content-security-policy"]
    expected = [
        base64.b64encode(hashlib.sha256(body).digest()).decode()
        for body in (b'{"imports": {}}', b"addStyle = 1;", b"createApp(1);")
    ]
    assert inline_script_hashes(PAGE.encode()) == expected
    script_src = next(d for d in policy.split(";") if d.strip().startswith("script-src"))
    assert script_src.split() == [
        "script-src", "'self'", "'unsafe-eval'", *(f"'sha256-{h}'" for h in expected)
    ]  # fmt: skip
    assert "'unsafe-inline'" not in script_src
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert directive in policy
    assert response.text == PAGE  # the page itself is passed on unchanged
    assert response.headers["content-length"] == str(len(PAGE))


async def test_a_gzipped_admin_page_is_hashed_as_rendered() -> None:
    """NiceGUI's GZipMiddleware compresses pages for browsers that accept gzip."""
    from starlette.middleware.gzip import GZipMiddleware

    settings = load_settings(secret_key="k" * 40)
    test_app = FastAPI()
    install_edge(test_app, settings)
    test_app.add_middleware(GZipMiddleware, minimum_size=10)

    @test_app.get("/admin/login")
    async def login() -> HTMLResponse:
        return HTMLResponse(PAGE)

    async with client_for(test_app) as client:
        response = await client.get("/admin/login", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.text == PAGE
    for digest in inline_script_hashes(PAGE.encode()):
        assert f"'sha256-{digest}'" in response.headers["content-security-policy"]


async def test_a_routes_own_csp_is_kept_outside_admin() -> None:
    async with client_for(small_app("auto")) as client:
        response = await client.get("/sites/own")
    assert response.headers["content-security-policy"] == "default-src 'self'"
    assert_common_without_csp(response)


def assert_common_without_csp(response: httpx.Response) -> None:
    for name, value in COMMON.items():
        assert response.headers.get(name) == value
