"""The `/admin` CSP in a real browser: headless Chromium signs in to a real
`cliftonsites serve` and opens every page; each page works (sign-in's clicks act,
its text shows, its socket connects and shakes hands) and the browser reports no CSP
violation at all.

Also against that server: every kind of route carries the headers, a 2 MB POST to
`/admin` is 413, and NiceGUI's `session` cookie is `Secure` when the request came over
HTTPS through a proxy (`X-Forwarded-Proto`, trusted from 127.0.0.1).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dashboard.auth.admins import create_admin
from tests import e2e_support as e2e
from tests.dbutil import create_migrated_database, drop_database

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        e2e.browser_missing_reason() is not None, reason=str(e2e.browser_missing_reason())
    ),
]

#: Runs before any script of each document: records every CSP violation it reports.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || ''));
});
"""
PAGES = (
    ("/", "Latest runs"),
    ("/logs", "Pause tail"),
    ("/runs", "Runs"),
    ("/businesses", "Businesses"),
    ("/config", "Daily deploy limit"),
    ("/audit", "Audit"),
    ("/reconcile", "Reconcile"),
    ("/security", "Recovery codes"),
    ("/system", "System"),
)


@pytest.fixture(scope="module")
def server(
    embedded_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[e2e.AppServer, str]]:
    url = create_migrated_database(embedded_admin_url)
    create_admin(url, e2e.EMAIL, e2e.PASSWORD)
    app = e2e.start_app(url, tmp_path_factory.mktemp("csp-app"))
    yield app, url
    app.proc.stop()
    drop_database(embedded_admin_url, url)


@pytest.fixture(scope="module")
def browser() -> Iterator[e2e.Browser]:
    chrome = e2e.start_browser()
    chrome.driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS}
    )
    yield chrome
    chrome.quit()


def violations(driver: Any) -> list[str]:
    seen = list(driver.execute_script("return window.__csp || ['listener missing'];"))
    logged = [
        str(entry["message"])
        for entry in driver.get_log("browser")
        if "Content Security Policy" in str(entry["message"])
    ]
    return seen + logged


def test_every_admin_page_works_under_the_csp_with_no_violation(
    server: tuple[e2e.AppServer, str], browser: e2e.Browser
) -> None:
    app, _ = server
    driver = browser.driver
    e2e.enrol_and_sign_in(driver, app, e2e.EMAIL, e2e.PASSWORD)
    assert violations(driver) == []
    for path, text in PAGES:
        driver.get(app.url(path))
        e2e.wait_for_text(driver, text, 15)
        e2e.wait_until(
            lambda: driver.execute_script("return !!window.did_handshake;"),
            10,
            f"{path}: the page's socket to connect and shake hands",
        )
        assert violations(driver) == [], path
    driver.get(app.url("/"))
    e2e.wait_for_text(driver, "Latest runs", 15)
    policy = driver.execute_script(
        "return fetch(location.href).then(r => r.headers.get('content-security-policy'));"
    )
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]


def test_a_script_injected_into_the_page_is_blocked(
    server: tuple[e2e.AppServer, str], browser: e2e.Browser
) -> None:
    """What the CSP is for: markup that reached the page cannot run script."""
    app, _ = server
    driver = browser.driver
    driver.get(app.url("/"))
    e2e.wait_for_text(driver, "Latest runs", 15)
    driver.execute_script(
        "const box = document.createElement('div');"
        "box.innerHTML = '<img src=x onerror=\"window.__ran = 1\">';"
        "document.body.append(box);"
        "const s = document.createElement('script'); s.textContent = 'window.__ran2 = 1';"
        "document.body.append(s);"
    )
    e2e.wait_until(lambda: len(violations(driver)) >= 2, 5, "the violations to be reported")
    assert driver.execute_script("return [window.__ran || 0, window.__ran2 || 0];") == [0, 0]


def test_every_kind_of_route_on_the_server_carries_the_headers(
    server: tuple[e2e.AppServer, str],
) -> None:
    app, _ = server
    with httpx.Client(base_url=app.base, timeout=10) as client:
        for method, path in (
            ("GET", "/admin/login"),
            ("GET", "/admin/_nicegui/no-such-asset.js"),
            ("GET", "/healthz"),
            ("POST", "/api/stripe-webhook"),
            ("GET", "/sites/abcdefgh/"),
            ("GET", "/nothing-here"),
        ):
            response = client.request(method, path)
            assert response.headers["x-content-type-options"] == "nosniff", path
            assert response.headers["referrer-policy"] == "same-origin", path
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"], path
            assert "strict-transport-security" not in response.headers, path


def test_a_2_mb_post_to_admin_is_413(server: tuple[e2e.AppServer, str]) -> None:
    app, _ = server
    body = b"x" * (2 * 1024 * 1024)
    for path in ("/admin/login", "/admin/_nicegui_ws/socket.io/?EIO=4&transport=polling"):
        response = httpx.post(
            app.base + path, content=body, headers={"Origin": app.base}, timeout=10
        )
        assert response.status_code == 413, (path, response.text)

    def chunks() -> Iterator[bytes]:
        for _ in range(32):
            yield b" " * (64 * 1024)

    streamed = httpx.post(
        app.base + "/api/outreach/webhook-events",
        content=chunks(),
        headers={"X-Smartlead-Signature": "0" * 64},
        timeout=10,
    )
    assert streamed.status_code == 413, streamed.text
    assert streamed.request.headers.get("transfer-encoding") == "chunked"
    assert httpx.get(app.base + "/healthz", timeout=10).status_code == 200  # still serving


def test_behind_an_https_proxy_nicegui_s_cookie_is_secure_and_hsts_is_sent(
    server: tuple[e2e.AppServer, str], tmp_path: Path
) -> None:
    app, _ = server
    response = httpx.get(app.url("/login"), headers={"X-Forwarded-Proto": "https"}, timeout=10)
    cookies = response.headers.get_list("set-cookie")
    session = [c for c in cookies if c.startswith("session=")]
    assert session, cookies
    assert "; secure" in session[0].lower()
    assert response.headers["strict-transport-security"].startswith("max-age=")
    plain = httpx.get(app.url("/login"), timeout=10).headers.get_list("set-cookie")
    assert all("secure" not in c.lower() for c in plain if c.startswith("session="))
