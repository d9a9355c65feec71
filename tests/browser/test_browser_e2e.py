"""A real browser against a real app process: headless Chromium drives `cliftonsites
serve` (a subprocess on its own port, its own migrated database) through sign-in, QR
enrolment and the live pages.

NiceGUI's Screen fixture would run the app in this process, without our `/admin`
mount, our lifespan or uvicorn; driving the production entry point is closer to what
an admin meets. Rows are committed by another connection, as a worker would.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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

LIVE_WITHIN = 5.0  # seconds; the bus itself delivers in milliseconds (docs/live.md)


@pytest.fixture(scope="module")
def e2e_db(embedded_admin_url: str) -> Iterator[str]:
    url = create_migrated_database(embedded_admin_url)
    create_admin(url, e2e.EMAIL, e2e.PASSWORD)
    yield url
    drop_database(embedded_admin_url, url)


@pytest.fixture(scope="module")
def app(e2e_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[e2e.AppServer]:
    server = e2e.start_app(e2e_db, tmp_path_factory.mktemp("e2e-app"))
    yield server
    server.proc.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[e2e.Browser]:
    chrome = e2e.start_browser()
    yield chrome
    chrome.quit()


@pytest.fixture(scope="module")
def signed_in(browser: e2e.Browser, app: e2e.AppServer) -> str:
    """The TOTP secret of the admin this browser enrolled and signed in with."""
    return e2e.enrol_and_sign_in(browser.driver, app, e2e.EMAIL, e2e.PASSWORD)


def open_page(browser: e2e.Browser, app: e2e.AppServer, path: str, ready_text: str) -> Any:
    """Open a page and mark its document, so a reload would be noticed."""
    driver = browser.driver
    driver.get(app.url(path))
    e2e.wait_for_text(driver, ready_text)
    driver.execute_script("window.__no_reload_marker = 'still the same page';")
    return driver


def assert_not_reloaded(driver: Any) -> None:
    marker = driver.execute_script("return window.__no_reload_marker || null;")
    assert marker == "still the same page", "the page was reloaded"


def script_errors(driver: Any) -> list[str]:
    return [
        str(entry["message"])
        for entry in driver.get_log("browser")
        if entry.get("level") == "SEVERE" and "favicon" not in str(entry["message"])
    ]


def test_an_admin_signs_in_enrols_by_qr_code_and_sees_the_overview(
    signed_in: str, browser: e2e.Browser, app: e2e.AppServer, e2e_db: str
) -> None:
    driver = browser.driver
    assert driver.current_url.rstrip("/").endswith("/admin")
    for heading in ("Queue", "Identification", "Implementation", "Config", "Latest runs"):
        e2e.wait_for_text(driver, heading)
    assert script_errors(driver) == []
    factor = e2e.sql(e2e_db, "select status from auth.mfa_factors")
    assert factor == [{"status": "verified"}]
    unused = e2e.sql(
        e2e_db, "select count(*) as n from admin_private.recovery_codes where used_at is null"
    )
    assert unused[0]["n"] == 10
    actions = {r["action"] for r in e2e.sql(e2e_db, "select action from admin_audit_log")}
    assert {"login", "mfa_enrolled"} <= actions
    cookies = {c["name"]: c for c in driver.get_cookies()}
    assert cookies["cs_session"]["httpOnly"] is True


def test_a_log_line_committed_by_another_connection_joins_the_logs_page_without_a_reload(
    signed_in: str, browser: e2e.Browser, app: e2e.AppServer, e2e_db: str
) -> None:
    driver = open_page(browser, app, "/logs", "Pause tail")
    e2e.watch_for(driver, "e2e: a line from another connection")
    committed = time.time()
    e2e.log_line(e2e_db, "e2e: a line from another connection")
    took = e2e.ms_until_seen(driver, "e2e: a line from another connection", committed, LIVE_WITHIN)
    print(f"commit -> shown on /admin/logs: {took:.0f} ms")
    assert_not_reloaded(driver)
    assert script_errors(driver) == []


def test_a_run_committed_by_another_connection_appears_on_the_overview_without_a_reload(
    signed_in: str, browser: e2e.Browser, app: e2e.AppServer, e2e_db: str
) -> None:
    driver = open_page(browser, app, "/", "Latest runs")
    next_run = e2e.sql(e2e_db, "select coalesce(max(id), 0) + 1 as id from automation_runs")
    e2e.watch_for(driver, f"#{next_run[0]['id']}")
    committed = time.time()
    run = e2e.sql(
        e2e_db, "select public.start_automation_run('implementation', 'e2e-worker') as id"
    )[0]["id"]
    assert run == next_run[0]["id"]
    took = e2e.ms_until_seen(driver, f"#{run}", committed, LIVE_WITHIN)
    print(f"commit -> shown on /admin: {took:.0f} ms")
    assert_not_reloaded(driver)
    assert script_errors(driver) == []


def test_a_greyed_out_business_action_says_why_on_hover(
    signed_in: str, browser: e2e.Browser, app: e2e.AppServer, e2e_db: str
) -> None:
    """The reason's tooltip hangs on the disabled button's holder (not every browser
    sends mouse events to a disabled button); only a real browser shows it on hover."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    [row] = e2e.sql(
        e2e_db,
        "insert into public.pipeline_businesses (place_id, name, category, city, region)"
        " values ('e2e-hover', 'Hover Bakery', 'baker', 'Bath', 'England') returning id",
    )
    driver = open_page(browser, app, f"/businesses/{row['id']}", "Hover Bakery")
    requeue = driver.find_element(By.XPATH, "//button[.//span[normalize-space()='Requeue']]")
    assert requeue.get_attribute("disabled") is not None
    ActionChains(driver).move_to_element(requeue.find_element(By.XPATH, "..")).perform()
    e2e.wait_for_text(
        driver, "Only failed or skipped businesses can be requeued; this one is queued."
    )
    assert script_errors(driver) == []


def test_killing_the_listener_connection_brings_the_logs_page_back_to_live_data_within_5_s(
    signed_in: str, browser: e2e.Browser, app: e2e.AppServer, e2e_db: str
) -> None:
    driver = open_page(browser, app, "/logs", "Pause tail")
    (listener,) = e2e.listener_pids(e2e_db)
    killed = e2e.sql(e2e_db, "select pg_terminate_backend(%s) as ok", (listener,))
    assert killed == [{"ok": True}]
    started = time.monotonic()
    # Committed at once, while the app is (very likely) still reconnecting: the gap
    # is never replayed, so only a re-read after the reconnect can show it.
    e2e.log_line(e2e_db, "e2e: committed right after the kill")
    e2e.wait_for_text(driver, "e2e: committed right after the kill", LIVE_WITHIN)
    e2e.log_line(e2e_db, "e2e: committed once live again")
    e2e.wait_for_text(driver, "e2e: committed once live again", LIVE_WITHIN)
    print(f"kill -> both rows visible: {(time.monotonic() - started) * 1000:.0f} ms")
    assert time.monotonic() - started < LIVE_WITHIN
    assert_not_reloaded(driver)
    new_listener = e2e.wait_until(lambda: e2e.listener_pids(e2e_db), 5, "a new LISTEN backend")
    assert new_listener != [listener]


def test_the_overview_shows_fresh_data_after_the_listener_is_killed(
    signed_in: str, browser: e2e.Browser, app: e2e.AppServer, e2e_db: str
) -> None:
    driver = open_page(browser, app, "/", "Latest runs")
    (listener,) = e2e.listener_pids(e2e_db)
    e2e.sql(e2e_db, "select pg_terminate_backend(%s)", (listener,))
    started = time.monotonic()
    run = e2e.sql(
        e2e_db, "select public.start_automation_run('identification', 'e2e-worker') as id"
    )[0]["id"]
    e2e.wait_for_text(driver, f"#{run}", LIVE_WITHIN)
    assert time.monotonic() - started < LIVE_WITHIN
    assert_not_reloaded(driver)


def test_logging_out_ends_the_session_and_the_old_cookie_is_refused(
    signed_in: str, browser: e2e.Browser, app: e2e.AppServer, tmp_path: Path
) -> None:
    import httpx

    driver = browser.driver
    driver.get(app.url("/"))
    e2e.wait_for_text(driver, "Queue")
    cookie = driver.get_cookie("cs_session")["value"]
    e2e.click(driver, "logout")
    e2e.wait_for_path(driver, "/admin/login")
    replay = httpx.get(app.url("/"), cookies={"cs_session": cookie}, follow_redirects=False)
    assert replay.status_code == 303
    assert replay.headers["location"].endswith("/admin/login")
