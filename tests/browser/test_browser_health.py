"""A frozen worker turns stale on the page: real Chromium, real `cliftonsites serve`
and `cliftonsites worker`. SIGSTOP freezes the worker (no database write from then
on); the open overview shows it stale within heartbeat_stale_seconds + 2 s without a
reload, so does a page loaded fresh, and SIGCONT brings it back to healthy."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dashboard.auth.admins import create_admin
from tests import e2e_support as e2e
from tests.dbutil import create_migrated_database, drop_database, sql, wait_until

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        e2e.browser_missing_reason() is not None, reason=str(e2e.browser_missing_reason())
    ),
]
STALE_SECONDS = 5  # the smallest heartbeat_stale_seconds the config allows
STALE_TEXT = "Stale: no heartbeat"
BAR_TEXT = "implementation worker silent for"


@pytest.fixture(scope="module")
def health_db(embedded_admin_url: str) -> Iterator[str]:
    url = create_migrated_database(embedded_admin_url)
    create_admin(url, e2e.EMAIL, e2e.PASSWORD)
    sql(url, "update public.automation_config set heartbeat_stale_seconds = %s", (STALE_SECONDS,))
    yield url
    drop_database(embedded_admin_url, url)


@pytest.fixture(scope="module")
def stack(
    health_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[e2e.AppServer, e2e.Proc]]:
    work = tmp_path_factory.mktemp("health")
    app = e2e.start_app(health_db, work)
    env = e2e.base_env(health_db, work, WORKER_PACE_SECONDS="0.5")
    worker = e2e.spawn(
        [*e2e.cli_command(), "worker", "--process", "both", "--heartbeat-seconds", "1"],
        env,
        Path(work) / "worker.log",
    )
    yield app, worker
    if worker.popen.poll() is None:
        worker.popen.send_signal(signal.SIGCONT)
    worker.stop()
    app.proc.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[e2e.Browser]:
    chrome = e2e.start_browser()
    yield chrome
    chrome.quit()


def last_heartbeat_ms(url: str) -> float:
    (row,) = sql(
        url,
        "select last_heartbeat_at from public.automation_status where process = 'implementation'",
    )
    return float(row["last_heartbeat_at"].timestamp() * 1000)


def workers_healthy(app: e2e.AppServer) -> bool:
    return bool(httpx.get(app.base + "/healthz", timeout=5).json()["workers_healthy"])


def test_a_frozen_worker_shows_stale_on_an_open_page_and_a_fresh_one_then_recovers(
    stack: tuple[e2e.AppServer, e2e.Proc], browser: e2e.Browser, health_db: str
) -> None:
    app, worker = stack
    driver = browser.driver
    e2e.enrol_and_sign_in(driver, app, e2e.EMAIL, e2e.PASSWORD)
    driver.get(app.url("/"))
    e2e.wait_for_text(driver, "Implementation", 15)
    wait_until(lambda: STALE_TEXT not in e2e.body_text(driver), 30, "a live worker")
    wait_until(lambda: workers_healthy(app), 15, "/healthz to see live workers")
    driver.execute_script("window.__no_reload_marker = 'same page';")
    e2e.watch_for(driver, STALE_TEXT)
    e2e.watch_for(driver, BAR_TEXT)
    worker.popen.send_signal(signal.SIGSTOP)
    time.sleep(0.3)  # a heartbeat in flight lands before we read the last one
    stale_at = last_heartbeat_ms(health_db) + STALE_SECONDS * 1000
    since = stale_at / 1000
    try:
        banner_ms = e2e.ms_until_seen(driver, STALE_TEXT, since, STALE_SECONDS + 10)
    except AssertionError:
        print("BODY", e2e.body_text(driver)[:3000])
        print("LOGS", driver.get_log("browser"))
        raise
    bar_ms = e2e.ms_until_seen(driver, BAR_TEXT, since, 5)
    assert driver.execute_script("return window.__no_reload_marker") == "same page"
    assert banner_ms <= 2000, f"stale banner {banner_ms:.0f} ms after the heartbeat went stale"
    assert bar_ms <= 2000, f"health bar {bar_ms:.0f} ms after the heartbeat went stale"
    assert not workers_healthy(app)
    body = httpx.get(app.base + "/healthz?workers=1", timeout=5)
    assert body.status_code == 503 and body.json()["workers"]["implementation"]["stale"]
    # a page loaded fresh shows the same
    driver.get(app.url("/"))
    e2e.wait_for_text(driver, STALE_TEXT, 5)
    e2e.wait_for_text(driver, BAR_TEXT, 5)
    # the heartbeat age keeps moving in the browser while nothing is written
    age = driver.execute_script(
        "return document.querySelector('[data-since]') && "
        "document.querySelector('[data-since]').textContent"
    )
    time.sleep(2.2)
    later = driver.execute_script("return document.querySelector('[data-since]').textContent")
    assert age != later, "the relative time did not advance"
    worker.popen.send_signal(signal.SIGCONT)
    wait_until(lambda: STALE_TEXT not in e2e.body_text(driver), 10, "healthy after SIGCONT")
    wait_until(lambda: workers_healthy(app), 10, "/healthz healthy after SIGCONT")
