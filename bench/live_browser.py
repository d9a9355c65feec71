"""Live latency in a real headless Chromium: commit by another connection -> text in
the DOM, timed in the page by a MutationObserver (performance.timeOrigin +
performance.now()) against time.time() taken just before the committing statement
is sent, on the same machine clock (the page/Python clock offset is calibrated first
and subtracted). Python only collects the page's timestamp afterwards; nothing polls.

- app: the real overview at /admin (signed in through the project's auth), an insert
  into pipeline_businesses -> the queue card's `queued` figure shows the new count;
- baseline: a bare LISTEN/NOTIFY -> NiceGUI refreshable probe page (bench/probe_app.py),
  measured the same way in the same run.
Goal: p50 <= 15 ms, p95 <= 50 ms over >= 200 events.

Run: .venv/bin/python -m bench.live_browser [--events 200]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from bench.app_server import AppServer, free_port, prepare_app_database, sign_in_ticket
from bench.common import Result, at_most, bench_server, int_option, main, progress, quantiles

WARMUP = 10
CHROME_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
)  # fmt: skip
OBSERVER_JS = """
window.__hit = null; window.__expect = null;
const match = %s;
window.__check = () => {
  if (window.__hit !== null || window.__expect === null) return;
  for (const el of document.querySelectorAll(%r)) {
    if (match(el)) { window.__hit = performance.timeOrigin + performance.now(); return; }
  }
};
new MutationObserver(window.__check).observe(document.body,
  {subtree: true, childList: true, characterData: true});
"""
PROBE_MATCH = "(el) => el.textContent.trim() === window.__expect"
QUEUED_MATCH = (
    "(el) => el.textContent.trim() === window.__expect && el.previousElementSibling"
    " && el.previousElementSibling.textContent.trim() === 'queued'"
)
INSERT = (
    "insert into public.pipeline_businesses (place_id, name, category, city, region)"
    " values (%s, 'Latency probe', 'plumber', 'Austin', 'TX')"
)


def events() -> int:
    return max(200, int_option("--events", 200))


def chrome(profile: Path) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument("--window-size=1400,1000")
    return webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))


def clock_offset_ms(driver: webdriver.Chrome) -> float:
    """Page clock minus Python clock (ms), from the tightest of 20 round trips."""
    best: tuple[float, float] | None = None
    for _ in range(20):
        before = time.time() * 1000
        page = float(driver.execute_script("return performance.timeOrigin + performance.now()"))
        after = time.time() * 1000
        if best is None or after - before < best[0]:
            best = (after - before, page - (before + after) / 2)
    assert best is not None
    return best[1]


def measure(
    driver: webdriver.Chrome, commit: Callable[[int], tuple[str, float]], n: int, label: str
) -> list[float]:
    """Latency (ms) of n events after WARMUP; `commit(i)` commits and returns the text."""
    offset = clock_offset_ms(driver)
    samples: list[float] = []
    for i in range(n + WARMUP):
        time.sleep(0.05)
        driver.execute_script("window.__hit = null; window.__expect = null;")
        expected, sent_at = commit(i)
        driver.execute_script("window.__expect = arguments[0]; window.__check();", expected)
        deadline = time.monotonic() + 10
        hit: Any = None
        while hit is None and time.monotonic() < deadline:
            hit = driver.execute_script("return window.__hit")
            if hit is None:
                time.sleep(0.01)
        if hit is None:
            raise RuntimeError(f"{label}: {expected!r} never reached the DOM within 10 s")
        if i >= WARMUP:
            samples.append(float(hit) - offset - sent_at)
        if (i + 1) % 50 == 0:
            progress(f"{label}: {i + 1}/{n + WARMUP} events")
    return samples


def baseline(driver: webdriver.Chrome, url: str, n: int) -> list[float]:
    port = free_port()
    probe = subprocess.Popen([sys.executable, "-m", "bench.probe_app", url, str(port)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        AppServer(None, port=port).wait_ready("/", 30)
        driver.get(f"http://127.0.0.1:{port}/")
        driver.execute_script(OBSERVER_JS % (PROBE_MATCH, "[data-testid=probe]"))
        with psycopg.connect(url, autocommit=True) as conn:

            def commit(i: int) -> tuple[str, float]:
                text = f"probe-{i}"
                sent_at = time.time() * 1000
                conn.execute("select pg_notify('bench_probe', %s)", (text,))
                return text, sent_at

            return measure(driver, commit, n, "baseline probe")
    finally:
        probe.terminate()
        probe.wait(timeout=10)


def overview(driver: webdriver.Chrome, url: str, app: AppServer, n: int) -> list[float]:
    ticket, _secret = sign_in_ticket(url)
    driver.get(f"{app.base}/admin/auth/complete?ticket={ticket}")
    deadline = time.monotonic() + 30
    while "queued" not in driver.page_source and time.monotonic() < deadline:
        time.sleep(0.1)
    driver.execute_script(OBSERVER_JS % (QUEUED_MATCH, ".font-mono"))
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("select count(*) from public.pipeline_businesses"
                           " where status = 'queued'").fetchone()  # fmt: skip
        assert row is not None
        queued = [int(row[0])]

        def commit(i: int) -> tuple[str, float]:
            queued[0] += 1
            sent_at = time.time() * 1000
            conn.execute(INSERT, (f"bench-live-{time.time_ns()}-{i}",))
            return f"{queued[0]:,}", sent_at

        return measure(driver, commit, n, "overview")


def run() -> Result:
    n = events()
    result = Result("live_browser", "Commit -> DOM in headless Chromium (MutationObserver)")
    admin_url, server = bench_server()
    profile = Path(tempfile.mkdtemp(prefix="csbench-chrome"))
    driver = None
    try:
        progress("preparing the app database (demo data)")
        url = prepare_app_database(admin_url)
        with AppServer(url) as app:
            app.wait_ready()
            driver = chrome(profile)
            progress(f"baseline: bare LISTEN/NOTIFY -> refreshable probe, {n} events")
            base = quantiles(baseline(driver, url, n))
            progress(f"app: overview queue card, {n} events")
            real = quantiles(overview(driver, url, app, n))
        result.details = {"baseline_probe_ms": base, "overview_ms": real, "warmup_events": WARMUP}
        for q, limit in (("p50", 15.0), ("p95", 50.0)):
            result.add(at_most(f"overview commit -> DOM {q}", real[q], "ms", limit,
                               baseline=base[q], baseline_name=f"probe {q}"))  # fmt: skip
        result.notes.append(
            "time.time() just before the insert is sent, so figures include its round trip"
        )
    finally:
        if driver is not None:
            driver.quit()
        server.cleanup()
    return result


if __name__ == "__main__":
    main(run)
