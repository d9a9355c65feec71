"""Past one machine: two real `cliftonsites serve` processes on one database, and three
real `cliftonsites worker` processes sharing one queue.

The app processes share nothing but the database (and Redis for NiceGUI's user
storage when TEST_REDIS_URL is set): sessions, revocations and throttle counters must
hold across them, and a change must reach the admins of both. One headless Chromium
serves as the admin: cookies are per host, not per port, so the same browser carries
one session to both instances, as a load balancer without stickiness would.
"""

from __future__ import annotations

import os
import secrets
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from dashboard.auth.admins import create_admin
from dashboard.backends.base import SERVICE
from tests import e2e_support as e2e
from tests.dbutil import create_migrated_database, drop_database
from tests.factories import count

F = TypeVar("F", bound=Callable[..., Any])
REDIS_URL = os.environ.get("TEST_REDIS_URL")
BROWSER_MISSING = e2e.browser_missing_reason()
needs_browser = [
    pytest.mark.browser,
    pytest.mark.skipif(BROWSER_MISSING is not None, reason=str(BROWSER_MISSING)),
]


def with_marks(marks: list[pytest.MarkDecorator]) -> Callable[[F], F]:
    def apply(test: F) -> F:
        for mark in marks:
            test = mark(test)
        return test

    return apply


@pytest.fixture(scope="module")
def shared_db(embedded_admin_url: str) -> Iterator[str]:
    url = create_migrated_database(embedded_admin_url)
    create_admin(url, e2e.EMAIL, e2e.PASSWORD)
    yield url
    drop_database(embedded_admin_url, url)


@pytest.fixture(scope="module")
def redis_prefix() -> Iterator[str]:
    """A key prefix of our own in the shared Redis, deleted afterwards."""
    prefix = f"cs-e2e-{secrets.token_hex(4)}:"
    yield prefix
    if REDIS_URL:
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture(scope="module")
def instances(
    shared_db: str, redis_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[e2e.AppServer, e2e.AppServer]]:
    """Instances A and B, started together. With Redis, NICEGUI_REDIS_URL is given in
    each instance's `.env` (not the environment), so only the app's own wiring can
    hand it to NiceGUI."""
    work = tmp_path_factory.mktemp("instances")
    env = {"NICEGUI_REDIS_KEY_PREFIX": redis_prefix} if REDIS_URL else {}
    for name in ("a", "b"):
        (work / name).mkdir()
        if REDIS_URL:
            (work / name / ".env").write_text(f"NICEGUI_REDIS_URL={REDIS_URL}\n")
    servers = (
        e2e.spawn_app(shared_db, work, "a", **env),
        e2e.spawn_app(shared_db, work, "b", **env),
    )
    try:
        e2e.wait_ready(*servers)
        yield servers
    finally:
        for server in servers:
            server.proc.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[e2e.Browser]:
    if BROWSER_MISSING:
        pytest.skip(BROWSER_MISSING)
    chrome = e2e.start_browser()
    yield chrome
    chrome.quit()


@pytest.fixture(scope="module")
def signed_in_on_a(browser: e2e.Browser, instances: tuple[e2e.AppServer, e2e.AppServer]) -> str:
    """The browser signed in (password, enrolment, code) on instance A only."""
    return e2e.enrol_and_sign_in(browser.driver, instances[0], e2e.EMAIL, e2e.PASSWORD)


def session_cookie(browser: e2e.Browser) -> str:
    return str(browser.driver.get_cookie("cs_session")["value"])


def status_on(server: e2e.AppServer, cookie: str) -> int:
    response = httpx.get(server.url("/"), cookies={"cs_session": cookie}, timeout=5)
    return response.status_code


@with_marks(needs_browser)
def test_a_session_started_on_one_instance_is_honoured_by_the_other(
    signed_in_on_a: str, browser: e2e.Browser, instances: tuple[e2e.AppServer, e2e.AppServer]
) -> None:
    a, b = instances
    driver = browser.driver
    driver.get(b.url("/"))
    e2e.wait_for_text(driver, "Queue")
    assert driver.current_url.rstrip("/").endswith(f":{b.port}/admin")
    cookie = session_cookie(browser)
    assert status_on(a, cookie) == 200
    assert status_on(b, cookie) == 200


@with_marks(needs_browser)
def test_a_log_line_committed_once_shows_on_pages_served_by_both_instances(
    signed_in_on_a: str,
    browser: e2e.Browser,
    instances: tuple[e2e.AppServer, e2e.AppServer],
    shared_db: str,
) -> None:
    a, b = instances
    driver = browser.driver
    windows = {}
    for server in (a, b):
        driver.switch_to.new_window("window")
        driver.get(server.url("/logs"))
        e2e.wait_for_text(driver, "Pause tail")
        windows[server.port] = driver.current_window_handle
    pids = e2e.listener_pids(shared_db)
    assert len(pids) == 2, f"each instance holds exactly one LISTEN connection: {pids}"
    e2e.log_line(shared_db, "multi: one commit, two instances")
    for server in (a, b):
        driver.switch_to.window(windows[server.port])
        assert driver.current_url.startswith(server.base)
        e2e.wait_for_text(driver, "multi: one commit, two instances", 5)
    for handle in windows.values():
        driver.switch_to.window(handle)
        driver.close()
    driver.switch_to.window(driver.window_handles[0])


@with_marks(needs_browser)
@pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL is not set (Redis on 127.0.0.1:6379)")
def test_with_nicegui_redis_url_a_preference_saved_on_one_instance_is_seen_on_the_other(
    signed_in_on_a: str, browser: e2e.Browser, instances: tuple[e2e.AppServer, e2e.AppServer]
) -> None:
    from selenium.webdriver.common.by import By

    a, b = instances
    driver = browser.driver
    driver.get(a.url("/"))
    e2e.wait_for_text(driver, "Queue")
    assert not is_dark(driver)
    driver.find_element(
        By.XPATH, "//*[@role='group'][@aria-label='Theme']/button[normalize-space()='Dark']"
    ).click()
    e2e.wait_until(lambda: is_dark(driver), 5, "dark mode on instance A")
    driver.get(b.url("/"))
    e2e.wait_for_text(driver, "Queue")
    e2e.wait_until(lambda: is_dark(driver), 5, "instance B to show A's theme")


def is_dark(driver: object) -> bool:
    classes = driver.execute_script("return document.body.className")  # type: ignore[attr-defined]
    return "body--dark" in str(classes)


@with_marks(needs_browser)
def test_a_logout_on_one_instance_is_refused_by_the_other_within_a_second(
    signed_in_on_a: str, browser: e2e.Browser, instances: tuple[e2e.AppServer, e2e.AppServer]
) -> None:
    a, b = instances
    cookie = session_cookie(browser)
    assert status_on(b, cookie) == 200
    out = httpx.get(a.url("/logout"), cookies={"cs_session": cookie}, follow_redirects=False)
    assert out.status_code == 303
    logged_out = time.monotonic()
    e2e.wait_until(lambda: status_on(b, cookie) == 303, 1.0, "instance B to refuse the cookie")
    print(f"logout on A -> refused on B: {(time.monotonic() - logged_out) * 1000:.0f} ms")
    browser.driver.get(b.url("/"))
    e2e.wait_for_path(browser.driver, "/admin/login")


@with_marks(needs_browser)
def test_a_throttle_reached_through_one_instance_holds_on_the_other(
    signed_in_on_a: str,
    browser: e2e.Browser,
    instances: tuple[e2e.AppServer, e2e.AppServer],
    shared_db: str,
) -> None:
    from dashboard.auth.throttle import ADDRESS_LIMIT

    a, b = instances
    driver = browser.driver
    for attempt in range(1, ADDRESS_LIMIT.max_failures + 1):
        e2e.enter_password(driver, a, e2e.EMAIL, f"wrong password {attempt}")
        e2e.wait_until(
            lambda n=attempt: failures(shared_db) >= n, 10, f"failed attempt {attempt} recorded"
        )
    e2e.enter_password(driver, b, e2e.EMAIL, e2e.PASSWORD)
    e2e.wait_for_text(driver, "Too many failed attempts")
    assert driver.current_url.split("?")[0].endswith("/admin/login")
    assert failures(shared_db) == ADDRESS_LIMIT.max_failures


def failures(url: str) -> int:
    rows = e2e.sql(
        url,
        "select count(*) as n from admin_private.auth_failures"
        " where key like 'address:%' and not pending",
    )
    return int(rows[0]["n"])


# --- three worker processes ------------------------------------------------------

BUSINESSES = 3000


def deployed(url: str) -> int:
    return count(
        url, "select count(*) as n from public.pipeline_businesses where status = 'deployed'"
    )


def worker_states(url: str) -> dict[str, str]:
    rows = e2e.sql(
        url,
        "select key, value ->> 'state' as state from public.automation_status,"
        " jsonb_each(workers) where process = 'implementation'",
    )
    return {r["key"]: r["state"] for r in rows}


@pytest.fixture
def worker_db(embedded_admin_url: str) -> Iterator[str]:
    url = create_migrated_database(embedded_admin_url)
    e2e.sql(
        url,
        "insert into public.pipeline_businesses (place_id, name, category, city, region)"
        " select 'multi-' || g, 'Business ' || g, 'plumber', 'Clifton', 'NJ'"
        " from generate_series(1, %s) g",
        (BUSINESSES,),
    )
    e2e.sql(url, "update public.automation_config set daily_deploy_limit = 1000000")
    yield url
    drop_database(embedded_admin_url, url)


@pytest.fixture
def workers(worker_db: str, tmp_path: Path) -> Iterator[dict[str, e2e.Proc]]:
    """w1, w2 and w3: `cliftonsites worker --process implementation`; the survivors
    requeue stale claims every second."""
    procs: dict[str, e2e.Proc] = {}
    try:
        for name in ("w1", "w2", "w3"):
            env = e2e.base_env(worker_db, tmp_path, WORKER_PACE_SECONDS="0")
            args = [*e2e.cli_command(), "worker", "--process", "implementation"]
            args += ["--worker-id", name, "--heartbeat-seconds", "30"]
            args += ["--stale-reset-seconds", "1"]
            procs[name] = e2e.spawn(args, env, tmp_path / f"{name}.log")
        yield procs
    finally:
        for proc in procs.values():
            proc.kill()


def catch_holding_a_claim(url: str, proc: e2e.Proc, worker_id: str) -> list[dict[str, int]]:
    """Stop `proc` (SIGSTOP) at a moment it holds a `started` claim; return the claim."""
    for _ in range(200):
        proc.popen.send_signal(signal.SIGSTOP)
        held = e2e.sql(
            url,
            "select id from public.pipeline_businesses where status = 'started'"
            " and claimed_by = %s",
            (worker_id,),
        )
        if held:
            return held
        proc.popen.send_signal(signal.SIGCONT)
        time.sleep(0.01)
    raise AssertionError(f"{worker_id} was never caught holding a claim")


@pytest.mark.slow
async def test_three_workers_drain_3000_businesses_once_each_through_a_pause_and_a_sigkill(
    worker_db: str, workers: dict[str, e2e.Proc]
) -> None:
    from dashboard.backends.postgres import PostgresBackend
    from dashboard.data.automation import send_automation_command

    e2e.wait_until(lambda: deployed(worker_db) >= 150, 60, "the drain to get going")
    assert set(worker_states(worker_db)) == {"w1", "w2", "w3"}
    api = await PostgresBackend(worker_db).open()
    try:
        # A pause while all three are busy reaches every one of them within a second.
        sent = time.monotonic()
        await send_automation_command(
            api, "implementation", "pause", {}, "e2e@test", caller=SERVICE
        )
        e2e.wait_until(
            lambda: set(worker_states(worker_db).values()) == {"paused"}, 1.0, "all paused"
        )
        print(f"pause -> three workers paused: {(time.monotonic() - sent) * 1000:.0f} ms")
        time.sleep(0.3)  # an item in flight at the pause may still finish
        frozen = deployed(worker_db)
        time.sleep(1.0)
        assert deployed(worker_db) == frozen, "a paused worker went on deploying"
        await send_automation_command(
            api, "implementation", "resume", {}, "e2e@test", caller=SERVICE
        )
    finally:
        await api.close()

    # SIGKILL w3 mid-item: freeze it (SIGSTOP) until it is caught holding a claim.
    held = catch_holding_a_claim(worker_db, workers["w3"], "w3")
    workers["w3"].popen.send_signal(signal.SIGKILL)
    workers["w3"].popen.wait(timeout=10)
    # Its claim would go stale after `stale_after_minutes`; age it instead of waiting.
    e2e.sql(
        worker_db,
        "update public.pipeline_businesses set started_at = now() - interval '1 day'"
        " where status = 'started' and claimed_by = 'w3'",
    )

    started = time.monotonic()
    e2e.wait_until(lambda: deployed(worker_db) == BUSINESSES, 150, "every business deployed")
    print(f"drain after the kill: {time.monotonic() - started:.1f} s; orphan {held}")
    time.sleep(1.0)  # any duplicate build has every chance to show up

    assert count(worker_db, "select count(*) as n from public.qualified_businesses") == BUSINESSES
    assert (
        count(
            worker_db,
            "select count(*) as n from public.pipeline_businesses where status <> 'deployed'",
        )
        == 0
    )
    deploys = e2e.sql(
        worker_db,
        "select business_id, count(*) as n from public.automation_logs"
        " where message like 'deployed %' group by business_id having count(*) > 1",
    )
    assert deploys == [], "a business was built more than once"
    rescued = e2e.sql(
        worker_db,
        "select id, attempts, claimed_by from public.pipeline_businesses where id = any(%s)",
        ([r["id"] for r in held],),
    )
    assert all(r["attempts"] == 2 and r["claimed_by"] in {"w1", "w2"} for r in rescued), rescued
