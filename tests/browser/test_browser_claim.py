"""The loop closed in real Chromium against a real `cliftonsites serve`: an owner opens
the site on the sites origin, claims it, pays at the demo's test checkout, and the
business turns paid live on the admin's open business page and is counted on the open
overview; the site is activated and the campaign stopped. Also: the admin origin does
not serve the site."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


@pytest.fixture
def claim_db(embedded_admin_url: str) -> Iterator[str]:
    url = create_migrated_database(embedded_admin_url)
    create_admin(url, e2e.EMAIL, e2e.PASSWORD)
    yield url
    drop_database(embedded_admin_url, url)


def deploy_one(url: str, env: dict[str, str], work: Path) -> tuple[int, str]:
    """One found business with an owner email, built and deployed by a worker process."""
    sql(url, "insert into public.pipeline_businesses (place_id, name, category, city, region,"
        " email, email_source) values ('loop-1', 'Loop Bakery', 'bakery', 'Clifton', 'NJ',"
        " 'owner@loopbakery.example.com', 'demo')")  # fmt: skip
    done = subprocess.run([*e2e.cli_command(), "worker", "--process", "implementation", "--once"],
                          env=env, cwd=work, capture_output=True, text=True, timeout=90,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    [row] = sql(url, "select pipeline_business_id as id, uuid from public.qualified_businesses")
    return int(row["id"]), str(row["uuid"])


def claimed_counts(driver: Any) -> tuple[str, ...] | None:
    """The overview queue card's "claimed 1h / 24h" pair, as shown."""
    found = re.search(r"claimed 1h / 24h\s+(\S+) / (\S+)", e2e.body_text(driver))
    return found.groups() if found else None


def test_site_claim_pay_turns_the_business_paid_live(claim_db: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    port = e2e.free_port()
    sites = f"http://localhost:{port}"
    data = tmp_path / "app"
    data.mkdir()
    env = e2e.base_env(claim_db, data, HOST="127.0.0.1", PORT=str(port), SITES_BASE_URL=sites,
                       CLAIM_TEST_CHECKOUT="true")  # fmt: skip
    app = e2e.AppServer(e2e.spawn([*e2e.cli_command(), "serve"], env, data / "serve.log"), port)
    browser: e2e.Browser | None = None
    try:
        e2e.wait_ready(app)
        business_id, uuid = deploy_one(claim_db, env, data)
        wait_until(lambda: sql(claim_db, "select outreach_status from public.qualified_businesses")
                   [0]["outreach_status"] == "started", 30, "outreach to start")  # fmt: skip
        # the admin origin does not serve sites, the sites origin serves nothing else
        assert httpx.get(f"{app.base}/sites/{uuid}/", timeout=5).status_code == 404
        assert httpx.get(f"{sites}/admin/login", timeout=5).status_code == 404

        browser = e2e.start_browser()
        driver = browser.driver
        e2e.enrol_and_sign_in(driver, app, e2e.EMAIL, e2e.PASSWORD)
        driver.get(app.url(f"/businesses/{business_id}"))
        e2e.wait_for_text(driver, "outreach started")
        e2e.wait_for_text(driver, "unpaid")
        admin_tab = driver.current_window_handle
        driver.switch_to.new_window("tab")
        driver.get(app.url("/"))
        e2e.wait_for_text(driver, "claimed 1h / 24h")
        assert claimed_counts(driver) == ("0", "0")
        overview_tab = driver.current_window_handle

        driver.switch_to.new_window("tab")
        driver.get(f"{sites}/sites/{uuid}/")
        e2e.wait_for_text(driver, "Loop Bakery")
        driver.find_element(By.LINK_TEXT, "Claim this site").click()
        e2e.wait_for_text(driver, "Claim the site of Loop Bakery")
        assert driver.current_url == f"{sites}/claim/{uuid}"
        driver.find_element(By.ID, "pay").click()
        e2e.wait_for_text(driver, "Test checkout")
        email = driver.find_element(By.ID, "email")
        assert email.get_attribute("value") == "owner@loopbakery.example.com"  # prefilled
        email.clear()
        email.send_keys("maria@loopbakery.example.com")
        driver.find_element(By.ID, "pay").click()
        paid_at = time.monotonic()
        e2e.wait_for_text(driver, "the site is yours")

        driver.switch_to.window(admin_tab)
        e2e.wait_for_text(driver, "site active")
        e2e.wait_for_text(driver, "outreach stopped")
        print(f"\npaid -> shown on the open business page in {time.monotonic() - paid_at:.2f} s")
        badges = [b.text for b in driver.find_elements(By.CSS_SELECTOR, ".status-badge")]
        assert "paid" in badges and "unpaid" not in badges
        driver.switch_to.window(overview_tab)  # open since before the payment, never reloaded
        wait_until(lambda: claimed_counts(driver) == ("1", "1"), 10, "the claim on the overview")

        [row] = sql(claim_db, "select claimed, site_status, outreach_status, customer_email"
                    " from public.qualified_businesses")  # fmt: skip
        assert row == {"claimed": True, "site_status": "active", "outreach_status": "stopped",
                       "customer_email": "maria@loopbakery.example.com"}  # fmt: skip
        page = httpx.get(f"{sites}/sites/{uuid}/", timeout=5)
        assert page.status_code == 200 and "Claim this site" not in page.text
    finally:
        if browser is not None:
            browser.quit()
        app.proc.stop()
