"""Screenshots of every page at desktop (1440x900) and phone (390x844) width, light
and dark, with axe-core's critical and serious findings per page: the look a person
gets, for a human to look at (not a benchmark with goals; not in `make bench`).

Usage: python -m bench.screens [--out FOLDER] [--port N] [--sign-in-steps] [--pages /a,/b]
       (default folder .data/screens; PostgreSQL from DATABASE_ADMIN_URL or the
       bench's embedded server)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.app_server import AppServer, prepare_app_database, sign_in_ticket
from bench.common import ROOT, bench_server, int_option, progress

WIDTHS = {"desktop": (1440, 900, False), "phone": (390, 844, True)}
THEMES = ("light", "dark")


def option(flag: str, default: str) -> str:
    return sys.argv[sys.argv.index(flag) + 1] if flag in sys.argv else default


def start_chrome(profile: Path) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from bench.live_browser import CHROME_FLAGS

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    return webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))


def emulate(driver: Any, width: int, height: int, mobile: bool, theme: str) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": theme}]},
    )


def settle(driver: Any) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if driver.execute_script("return document.readyState") == "complete":
            break
        time.sleep(0.05)
    time.sleep(1.0)  # the socket's first updates and the charts' first draw


def serious(driver: Any) -> list[str]:
    from tests.access_support import serious_violations

    return [f"{v['id']} ({len(v['nodes'])})" for v in serious_violations(driver)]


def shoot(driver: Any, base: str, paths: list[str], out: Path, prefix: str) -> None:
    for width_name, (w, h, mobile) in WIDTHS.items():
        for theme in THEMES:
            emulate(driver, w, h, mobile, theme)
            for path in paths:
                driver.get(base + path)
                settle(driver)
                name = (path.strip("/").replace("/", "_") or "overview").split("?")[0]
                file = out / f"{prefix}{name}-{width_name}-{theme}.png"
                driver.save_screenshot(str(file))
                found = serious(driver)
                progress(f"{file.name}: {', '.join(found) if found else 'axe clean'}")


def shoot_sign_in_steps(driver: Any, base: str, url: str, out: Path) -> None:
    """The setup and second-step pages (a new admin per width and theme: each setup
    page load starts a fresh enrolment)."""
    import pyotp

    from dashboard.auth.admins import create_admin
    from tests import e2e_support as e2e

    for width_name, (w, h, mobile) in WIDTHS.items():
        for theme in THEMES:
            emulate(driver, w, h, mobile, theme)
            email = f"screens-{width_name}-{theme}-{int(time.time())}@cliftonsites.test"
            create_admin(url, email, e2e.PASSWORD)
            driver.delete_all_cookies()
            driver.get(base + "/login")
            settle(driver)
            e2e.type_into(driver, "email", email)
            e2e.type_into(driver, "password", e2e.PASSWORD)
            e2e.click(driver, "sign-in")
            e2e.wait_for_path(driver, "/admin/setup-mfa")
            settle(driver)
            driver.save_screenshot(str(out / f"setup-mfa-{width_name}-{theme}.png"))
            secret = e2e.wait_for_element(driver, "secret").text.replace(" ", "")
            e2e.type_into(driver, "code", pyotp.TOTP(secret).now())
            e2e.click(driver, "verify")
            e2e.wait_for_element(driver, "recovery-codes")
            settle(driver)
            driver.save_screenshot(str(out / f"setup-mfa-codes-{width_name}-{theme}.png"))
            driver.delete_all_cookies()
            driver.get(base + "/login")
            settle(driver)
            e2e.type_into(driver, "email", email)
            e2e.type_into(driver, "password", e2e.PASSWORD)
            e2e.click(driver, "sign-in")
            e2e.wait_for_path(driver, "/admin/mfa")
            settle(driver)
            driver.save_screenshot(str(out / f"mfa-{width_name}-{theme}.png"))
            progress(f"sign-in steps {width_name} {theme}: {serious(driver) or 'axe clean'}")


def main() -> None:
    out = Path(option("--out", str(ROOT / ".data" / "screens")))
    out.mkdir(parents=True, exist_ok=True)
    admin_url = os.environ.get("DATABASE_ADMIN_URL") or bench_server()[0]
    url = prepare_app_database(admin_url, "screens_app", businesses=300)
    with AppServer(url, port=int_option("--port", 8141)) as app:
        app.wait_ready()
        base = app.base + "/admin"
        profile = Path(tempfile.mkdtemp(prefix="cs-screens-"))
        driver = start_chrome(profile)
        try:
            shoot(driver, base, ["/login"], out, "")
            if "--sign-in-steps" in sys.argv:
                shoot_sign_in_steps(driver, base, url, out)
                driver.delete_all_cookies()
            ticket, _ = sign_in_ticket(url)
            driver.get(f"{base}/auth/complete?ticket={ticket}")
            settle(driver)
            import psycopg

            with psycopg.connect(url) as conn:
                row = conn.execute("select min(id) from public.pipeline_businesses").fetchone()
            pages = ["/", "/logs", "/runs", "/businesses", f"/businesses/{row[0] if row else 1}"]
            pages += ["/config", "/audit", "/reconcile", "/security", "/system", "/alerts"]
            pages += ["/no-such-page"]
            if "--pages" in sys.argv:  # a comma-separated subset, e.g. /security,/config
                pages = option("--pages", "").split(",")
            shoot(driver, base, pages, out, "")
        finally:
            driver.quit()


if __name__ == "__main__":
    main()
