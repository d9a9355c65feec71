"""Page weight: bytes transferred and load time of the login page and the overview from
a cold cache, in headless Chromium against `cliftonsites serve` with the demo's data.

Cold: Chromium's cache is cleared (CDP `Network.clearBrowserCache`) before each load.
Transferred bytes are the sum of `transferSize` over the navigation and every resource
entry (compressed sizes, headers included) once the page is quiet; the load time is
the navigation's `loadEventEnd`. Each figure is the median of `--runs N` loads (5).
A warm reload of the overview is shown too (what a returning admin pays).

Goals (issue 21): overview <= 600 KB and its load event <= 400 ms; login <= 200 KB.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.app_server import AppServer, prepare_app_database, sign_in_ticket
from bench.common import Result, at_most, bench_server, int_option, main, plain, progress

WEIGHT_JS = """
const nav = performance.getEntriesByType('navigation')[0];
const resources = performance.getEntriesByType('resource');
const bytes = [nav, ...resources].reduce((sum, e) => sum + (e.transferSize || 0), 0);
return {bytes, requests: 1 + resources.length, load: nav.loadEventEnd, html: nav.responseEnd,
        biggest: resources.map(e => [e.name.split('/').pop().split('?')[0], e.transferSize])
          .sort((a, b) => b[1] - a[1]).slice(0, 5)};
"""


def quiet(driver: Any, timeout: float = 15.0) -> None:
    """Wait for the load event, then until no new resource arrives for half a second
    (the socket's first messages load the chart library and components)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if driver.execute_script("return document.readyState") == "complete":
            break
        time.sleep(0.02)
    seen, still_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = driver.execute_script("return performance.getEntriesByType('resource').length")
        if count != seen:
            seen, still_since = count, time.monotonic()
        elif time.monotonic() - still_since > 0.5:
            return
        time.sleep(0.05)


def load(driver: Any, url: str, *, cold: bool) -> dict[str, Any]:
    if cold:
        driver.execute_cdp_cmd("Network.clearBrowserCache", {})
    driver.get(url)
    quiet(driver)
    return dict(driver.execute_script(WEIGHT_JS))


def measure(driver: Any, url: str, runs: int, *, cold: bool = True) -> dict[str, Any]:
    samples = [load(driver, url, cold=cold) for _ in range(runs)]
    return {
        "kb": statistics.median(s["bytes"] for s in samples) / 1024,
        "ms": statistics.median(s["load"] for s in samples),
        "requests": statistics.median(s["requests"] for s in samples),
        "html_ms": statistics.median(s["html"] for s in samples),
        "biggest": samples[0]["biggest"],
    }


def run() -> Result:
    from bench.screens import start_chrome

    runs = int_option("--runs", 5)
    admin_url, _server = bench_server()
    url = prepare_app_database(admin_url, "bench_weight", businesses=3_000)
    with AppServer(url) as app:
        app.wait_ready()
        profile = Path(tempfile.mkdtemp(prefix="cs-weight-"))
        driver = start_chrome(profile)
        try:
            driver.execute_cdp_cmd("Network.enable", {})
            login = measure(driver, f"{app.base}/admin/login", runs)
            ticket, _ = sign_in_ticket(url)
            driver.get(f"{app.base}/admin/auth/complete?ticket={ticket}")
            quiet(driver)
            overview = measure(driver, f"{app.base}/admin/", runs)
            warm = measure(driver, f"{app.base}/admin/", runs, cold=False)
        finally:
            driver.quit()
    progress(f"login {login}")
    progress(f"overview {overview}")
    progress(f"overview warm {warm}")
    return Result(
        "page_weight",
        "Page weight: cold login and overview in Chromium",
        [
            at_most("login transferred (cold)", login["kb"], "KB", 200),
            plain("login requests (cold)", login["requests"], ""),
            plain("login load event (cold)", login["ms"], "ms"),
            plain("login HTML received (cold)", login["html_ms"], "ms"),
            at_most("overview transferred (cold)", overview["kb"], "KB", 600),
            plain("overview requests (cold)", overview["requests"], ""),
            at_most("overview load event (cold)", overview["ms"], "ms", 400),
            plain("overview HTML received (cold)", overview["html_ms"], "ms"),
            plain("overview transferred (warm reload)", warm["kb"], "KB"),
            plain("overview load event (warm reload)", warm["ms"], "ms"),
        ],
        details={"login": login, "overview": overview, "overview_warm": warm},
        notes=[f"median of {runs} loads; largest overview files: {overview['biggest']}"],
    )


if __name__ == "__main__":
    main(run)
