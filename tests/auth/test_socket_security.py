"""NiceGUI's socket against a real `cliftonsites serve`, driven by a raw socket.io client
as an attacker's script would drive it (issue 17): messages count only from the socket
the page's own client opened with the page's session; a page dies with its session;
the server log takes no visitor's text and no secrets.

Each test signs in its own admin (its own session cookie), so one test's logout never
touches another's page.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import socketio

from tests import e2e_support as e2e
from tests import raw_socket as rs
from tests.dbutil import create_migrated_database, drop_database, sql, wait_until

pytestmark = pytest.mark.slow
PASSWORD = "a long and correct socket passphrase"
WAIT = 10.0  # seconds a test waits for the server before it calls the server broken


@pytest.fixture(scope="module")
def socket_db(embedded_admin_url: str) -> Iterator[str]:
    url = create_migrated_database(embedded_admin_url)
    yield url
    drop_database(embedded_admin_url, url)


@pytest.fixture(scope="module")
def app(socket_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[e2e.AppServer]:
    server = e2e.start_app(socket_db, tmp_path_factory.mktemp("socket-app"))
    yield server
    server.proc.stop()


@pytest.fixture(scope="module")
def other_app(socket_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[e2e.AppServer]:
    """A second instance on the same database (they share nothing else)."""
    server = e2e.start_app(socket_db, tmp_path_factory.mktemp("socket-app-b"))
    yield server
    server.proc.stop()


async def signed_in(database_url: str) -> dict[str, str]:
    email = f"socket-{uuid.uuid4().hex[:8]}@cliftonsites.test"
    return {"cs_session": await rs.admin_cookie(database_url, e2e.SECRET_KEY, email, PASSWORD)}


def commands(database_url: str) -> list[dict[str, Any]]:
    return sql(database_url, "select command, requested_by from automation_commands order by id")


def rows_sent(updates: list[Any]) -> list[Any]:
    """Every table row the server pushed in these `update` messages."""
    rows: list[Any] = []
    for update in updates:
        for element in (update or {}).values():
            if isinstance(element, dict):
                rows.extend(element.get("props", {}).get("rows") or [])
    return rows


def full_log(app: e2e.AppServer) -> str:
    return app.proc.log.read_text(errors="replace")


async def until(predicate: Any, what: str) -> None:
    for _ in range(int(WAIT / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} within {WAIT} s")


async def test_a_cookieless_socket_naming_an_admins_client_id_changes_nothing(
    app: e2e.AppServer, socket_db: str
) -> None:
    cookies = await signed_in(socket_db)
    page = rs.fetch_page(app.base, "/", cookies)
    admins_socket = await rs.connect(app.base, cookies=page.cookies, query=page.query)
    attacker = await rs.connect(app.base)
    try:
        pause = page.listener("q-btn", "click", "Pause")
        run_once = page.listener("q-btn", "click", "Run once")  # acts in any state
        # the attacks: an event naming the admin's client, then a forged handshake first
        await attacker.sio.call("event", rs.event(page, *pause), timeout=WAIT)
        forged = {**page.query, "tab_id": str(uuid.uuid4()), "document_id": str(uuid.uuid4())}
        await attacker.sio.call("handshake", forged, timeout=WAIT)
        await attacker.sio.call("event", rs.event(page, *pause), timeout=WAIT)
        # the admin's own socket, twice: both clicks land, so the attacker's had time to
        before = len(commands(socket_db))
        for expected in (1, 2):
            await admins_socket.emit("event", rs.event(page, *run_once))
            await until(lambda n=expected: len(commands(socket_db)) >= before + n, "a run once")
        assert [c["command"] for c in commands(socket_db)] == ["run_once", "run_once"]
    finally:
        await attacker.close()
        await admins_socket.close()


async def test_a_cookieless_socket_cannot_take_over_a_page_with_its_implicit_handshake(
    app: e2e.AppServer, socket_db: str
) -> None:
    cookies = await signed_in(socket_db)
    page = rs.fetch_page(app.base, "/audit", cookies)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await rs.connect(app.base, query=page.query)  # the page's query, but no cookie
    other = await signed_in(socket_db)  # another admin's cookie is not this page's either
    with pytest.raises(socketio.exceptions.ConnectionError):
        await rs.connect(app.base, cookies={**page.cookies, **other}, query=page.query)


async def test_after_logout_the_old_pages_socket_is_closed_and_a_table_request_gets_no_rows(
    app: e2e.AppServer, socket_db: str
) -> None:
    cookies = await signed_in(socket_db)
    for n in range(3):
        sql(socket_db, "insert into admin_audit_log (action, target) values ('login', %s)", (n,))
    page = rs.fetch_page(app.base, "/audit", cookies)
    request = page.listener("nicegui-table", "request")
    pagination = {"pagination": {"page": 1, "rowsPerPage": 50}}
    sock = await rs.connect(app.base, cookies=page.cookies, query=page.query)
    try:
        await sock.emit("event", rs.event(page, *request, pagination))
        await until(lambda: rows_sent(sock.updates()), "the table's rows before logout")
        out = httpx.get(app.url("/logout"), cookies=cookies, follow_redirects=False)
        assert out.status_code == 303
        sock.received.clear()
        await sock.emit("event", rs.event(page, *request, pagination))
        await until(sock.disconnected.is_set, "the server to close the old page's socket")
        assert rows_sent(sock.updates()) == []
    finally:
        await sock.close()
    with pytest.raises(socketio.exceptions.ConnectionError):  # the page is gone for good
        await rs.connect(app.base, cookies=page.cookies, query=page.query)


async def test_a_logout_on_one_instance_closes_the_pages_of_that_session_on_another(
    app: e2e.AppServer, other_app: e2e.AppServer, socket_db: str
) -> None:
    cookies = await signed_in(socket_db)
    page = rs.fetch_page(other_app.base, "/logs", cookies)
    sock = await rs.connect(other_app.base, cookies=page.cookies, query=page.query)
    try:
        out = httpx.get(app.url("/logout"), cookies=cookies, follow_redirects=False)
        assert out.status_code == 303
        await until(sock.disconnected.is_set, "instance B to close the page's socket")
        opened = [data["path"] for name, data in sock.received if name == "open"]
        assert opened == ["/login?ended=1&next=/logs"]  # a browser goes to the login page first
    finally:
        await sock.close()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await rs.connect(other_app.base, cookies=page.cookies, query=page.query)


async def test_a_client_log_message_never_reaches_the_server_log(
    app: e2e.AppServer, socket_db: str
) -> None:
    page = rs.fetch_page(app.base, "/login")
    marker = f"visitor-text-{uuid.uuid4().hex}"
    forged = f'{marker}\nINFO:     127.0.0.1:1 - "GET /admin/forged HTTP/1.1" 200 OK'
    own = await rs.connect(app.base, cookies=page.cookies, query=page.query)
    stranger = await rs.connect(app.base)
    try:
        for sock in (own, stranger):
            message = {"client_id": page.client_id, "level": "error", "message": forged}
            await sock.sio.call("log", message, timeout=WAIT)
        # a request after the log messages: its access line shows the log is written up to here
        httpx.get(app.base + "/healthz?after=" + marker[-8:])
        wait_until(lambda: marker[-8:] in full_log(app), WAIT, "the access line", every=0.05)
    finally:
        await own.close()
        await stranger.close()
    log = full_log(app)
    assert marker not in log.replace("after=" + marker[-8:], "")
    assert "/admin/forged" not in log


def test_the_access_log_holds_no_ticket_client_id_or_token(app: e2e.AppServer) -> None:
    ticket = f"ticket-{uuid.uuid4().hex}"
    token = f"token-{uuid.uuid4().hex}"
    httpx.get(app.url(f"/auth/complete?ticket={ticket}"), follow_redirects=False)
    httpx.get(app.base + f"/healthz?access_token={token}&probe=visible")
    page = rs.fetch_page(app.base, "/login")

    async def open_socket() -> None:
        sock = await rs.connect(app.base, cookies=page.cookies, query=page.query)
        await sock.close()

    asyncio.run(open_socket())
    wait_until(lambda: "probe=visible" in full_log(app), WAIT, "the access line", every=0.05)
    wait_until(lambda: "socket.io" in full_log(app), WAIT, "the socket's line", every=0.05)
    log = full_log(app)
    assert "/admin/auth/complete?ticket=[redacted]" in log
    for secret in (ticket, token, page.client_id):
        assert secret not in log


@pytest.mark.browser
@pytest.mark.skipif(e2e.browser_missing_reason() is not None, reason="no chromium here")
def test_a_real_browser_whose_session_ends_elsewhere_lands_on_the_login_page(
    app: e2e.AppServer, socket_db: str
) -> None:
    cookies = asyncio.run(signed_in(socket_db))
    browser = e2e.start_browser()
    try:
        driver = browser.driver
        driver.get(app.base + "/healthz")  # the cookie's origin, before any page
        driver.add_cookie({"name": "cs_session", "value": cookies["cs_session"], "path": "/"})
        driver.get(app.url("/logs"))
        e2e.wait_for_text(driver, "Pause tail")
        out = httpx.get(app.url("/logout"), cookies=cookies, follow_redirects=False)
        assert out.status_code == 303  # as from another tab or device
        e2e.wait_for_path(driver, "/admin/login", WAIT)
        assert "next=/logs" in driver.current_url
        e2e.wait_for_element(driver, "password")
        e2e.wait_for_text(driver, "Your session has ended. Sign in again.")
    finally:
        browser.quit()
