"""Helpers for the end-to-end tests (no tests here): real `cliftonsites serve` and
`cliftonsites worker` subprocesses, headless Chromium through selenium, and the
sign-in steps a person takes in the browser.

Everything started here is stopped by the caller's fixture finalizer (`stop()`), so
a failing test never leaves a server, a worker or a browser behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyotp

from tests.dbutil import sql, wait_until

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
SECRET_KEY = "e2e-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
EMAIL = "e2e@cliftonsites.test"
PASSWORD = "a long and correct e2e passphrase"
POLL = 0.05  # seconds between looks at a server or the browser (each look costs a request)
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
)


def browser_missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if CHROMIUM is None or CHROMEDRIVER is None:
        return "chromium and chromedriver are not installed (run `make system-deps` as root)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli_command() -> list[str]:
    exe = Path(sys.executable).with_name("cliftonsites")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "dashboard.cli"]


@dataclass
class Proc:
    """A subprocess with its output in a file (read it when a test fails)."""

    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def stop(self, timeout: float = 10.0) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait(timeout=10)


def spawn(args: list[str], env: dict[str, str], log: Path) -> Proc:
    with log.open("wb") as out:
        popen = subprocess.Popen(
            args, env=env, cwd=log.parent, stdout=out, stderr=subprocess.STDOUT
        )
    return Proc(popen, log)


def base_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    # PYTEST_CURRENT_TEST would make NiceGUI in the server act as under test (no gzip,
    # for one): the server runs as it does in production
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NICEGUI_", "SUPABASE_", "PYTEST_"))
    }
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=SECRET_KEY,
        INTERNAL_API_SECRET="e2e-internal-secret-0123456789abcdef",
        OUTREACH_TRIGGER_SECRET="e2e-outreach-secret-0123456789abcdef",
        STRIPE_WEBHOOK_SECRET="whsec_e2e0123456789",
        SMARTLEAD_WEBHOOK_SECRET="e2e-smartlead-0123456789",
        DATA_DIR=str(data_dir),
        NICEGUI_STORAGE_PATH=str(data_dir / "nicegui"),
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@dataclass
class AppServer:
    """One `cliftonsites serve` process."""

    proc: Proc
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base}/admin{path}"


def spawn_app(database_url: str, work_dir: Path, name: str = "app", **env: str) -> AppServer:
    """Start `cliftonsites serve` on a free port (see `wait_ready`). Its working folder
    is `work_dir/name`, so a `.env` written there is read as an operator's would be."""
    port = free_port()
    data_dir = work_dir / name
    data_dir.mkdir(parents=True, exist_ok=True)
    environ = base_env(database_url, data_dir, HOST="127.0.0.1", PORT=str(port), **env)
    return AppServer(spawn([*cli_command(), "serve"], environ, data_dir / "serve.log"), port)


def wait_ready(*servers: AppServer, timeout: float = 60.0) -> None:
    """Return once every server's /healthz says the database and live feed are up."""
    for server in servers:
        try:
            wait_until(
                lambda s=server: _healthy(s),
                timeout,
                f"port {server.port} to be healthy",
                every=POLL,
            )
        except AssertionError:
            for other in servers:
                other.proc.kill()
            raise AssertionError(f"the app did not start:\n{server.proc.output()}") from None


def start_app(database_url: str, work_dir: Path, name: str = "app", **env: str) -> AppServer:
    server = spawn_app(database_url, work_dir, name, **env)
    wait_ready(server)
    return server


def _healthy(server: AppServer) -> bool:
    if server.proc.popen.poll() is not None:
        raise AssertionError(f"the app exited early:\n{server.proc.output()}")
    try:
        return httpx.get(server.base + "/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def listener_pids(database_url: str) -> list[int]:
    """Backends of the app's live LISTEN connections on this database."""
    rows = sql(
        database_url,
        "select pid from pg_stat_activity where datname = current_database()"
        " and application_name = 'cliftonsites-live'",
    )
    return [int(r["pid"]) for r in rows]


def log_line(database_url: str, message: str, process: str = "system") -> int:
    rows = sql(
        database_url,
        "select public.log_automation_event(%s, 'info', %s) as id",
        (process, message),
    )
    return int(rows[0]["id"])


# --- the browser -------------------------------------------------------------------


@dataclass
class Browser:
    """A headless Chromium with its own profile folder."""

    driver: Any
    profile: Path
    handles: dict[str, str] = field(default_factory=dict)

    def quit(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)


def start_browser() -> Browser:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = Path(tempfile.mkdtemp(prefix="cs-chromium-"))
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    return Browser(driver, profile)


def body_text(driver: Any) -> str:
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By

    try:
        return str(driver.find_element(By.TAG_NAME, "body").text)
    except WebDriverException:
        return ""


def wait_for_text(driver: Any, text: str, timeout: float = 10.0) -> None:
    try:
        wait_until(lambda: text in body_text(driver), timeout, f"{text!r} on the page", every=POLL)
    except AssertionError:
        raise AssertionError(
            f"{text!r} not shown within {timeout}s at {driver.current_url}:\n"
            f"{body_text(driver)[:1500]}"
        ) from None


def wait_for_element(driver: Any, testid: str, timeout: float = 10.0) -> Any:
    """The element with `data-testid` (NiceGUI replaces an input's `id` with its own)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, f"[data-testid='{testid}']")),
        f"[data-testid={testid}] at {driver.current_url}",
    )


def type_into(driver: Any, testid: str, text: str) -> None:
    box = wait_for_element(driver, testid)
    box.clear()
    box.send_keys(text)


def click(driver: Any, testid: str) -> None:
    wait_for_element(driver, testid).click()


def wait_for_path(driver: Any, path: str, timeout: float = 10.0) -> None:
    wait_until(
        lambda: driver.current_url.split("?", 1)[0].endswith(path),
        timeout,
        f"the browser to reach {path} (at {driver.current_url})",
        every=POLL,
    )


def enter_password(driver: Any, app: AppServer, email: str, password: str) -> None:
    driver.get(app.url("/login"))
    type_into(driver, "email", email)
    type_into(driver, "password", password)
    click(driver, "sign-in")


def enrol_and_sign_in(driver: Any, app: AppServer, email: str, password: str) -> str:
    """First sign-in: password, QR enrolment from the shown secret, recovery codes,
    continue, "yes, I saved them". Returns the TOTP secret."""
    from selenium.webdriver.common.by import By

    enter_password(driver, app, email, password)
    wait_for_path(driver, "/admin/setup-mfa")
    secret_label = wait_for_element(driver, "secret")
    secret = secret_label.text.replace(" ", "")
    qr = driver.find_element(By.CSS_SELECTOR, "[data-testid='qr']").get_attribute("outerHTML")
    assert "data:image/svg+xml;base64," in qr, "the QR code must be a data URI"
    type_into(driver, "code", pyotp.TOTP(secret).now())
    click(driver, "verify")
    codes = wait_for_element(driver, "recovery-codes").text.split()
    assert len(codes) == 10, f"expected 10 recovery codes, saw {codes}"
    click(driver, "continue")
    click(driver, "codes-saved")  # Continue asks whether the codes were saved
    wait_for_text(driver, "Queue", 15)
    return secret


def sign_in(driver: Any, app: AppServer, email: str, password: str, secret: str) -> None:
    """A later sign-in: password then a TOTP code from the next time step (never reused)."""
    enter_password(driver, app, email, password)
    wait_for_path(driver, "/admin/mfa")
    type_into(driver, "code", fresh_code(secret))
    click(driver, "verify")
    wait_for_text(driver, "Queue", 15)


def fresh_code(secret: str) -> str:
    """A code of the next time step: within the ±1 step of drift the provider allows, and
    newer than any step accepted in the last 30 s (a code is accepted once)."""
    return pyotp.TOTP(secret).at(time.time() + 30)


WATCH_SCRIPT = """
const wanted = arguments[0];
window.__cs_seen = window.__cs_seen || {};
new MutationObserver(() => {
  const text = document.body.innerText;
  if (!(wanted in window.__cs_seen) && text.includes(wanted)) window.__cs_seen[wanted] = Date.now();
}).observe(document.body, {subtree: true, childList: true, characterData: true});
"""


def watch_for(driver: Any, text: str) -> None:
    """Record, in the page itself, the wall-clock moment `text` first shows."""
    driver.execute_script(WATCH_SCRIPT, text)


def ms_until_seen(driver: Any, text: str, since: float, timeout: float) -> float:
    """Milliseconds from `since` (time.time()) until the page first showed `text`."""
    seen = wait_until(
        lambda: driver.execute_script(
            "return (window.__cs_seen || {})[arguments[0]] || null", text
        ),
        timeout,
        f"{text!r} on {driver.current_url}",
        every=POLL,
    )
    return float(seen) - since * 1000
