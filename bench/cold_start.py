"""Cold start: process start -> the first 200 on /admin/login (goal <= 5 s).

- `cliftonsites serve` against an existing, migrated database (3 starts, median);
- `cliftonsites demo` on a data folder that already exists (the everyday restart);
- `cliftonsites demo` on an empty data folder: initdb, migrations, demo data, first
  admin, worker (reported beside the goal; a one-time cost);
- baseline: the bare NiceGUI probe app (bench/probe_app.py) to its first 200.

Run: .venv/bin/python -m bench.cold_start
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.app_server import AppServer, free_port, prepare_app_database
from bench.common import Result, at_most, bench_server, main, plain, progress

LOGIN = "/admin/login"


def time_serve(url: str) -> float:
    began = time.monotonic()
    with AppServer(url) as app:
        app.wait_ready(LOGIN, 60)
        return time.monotonic() - began


def time_demo(data_dir: Path, orphans: list[int]) -> float:
    """Seconds to the first 200; children the demo left running at exit go to `orphans`."""
    began = time.monotonic()
    app = AppServer(None, command="demo", extra_env={
        "DATA_DIR": str(data_dir), "ADMIN_EMAIL": "bench@cliftonsites.test",
        "ADMIN_PASSWORD": "bench demo password 1"})  # fmt: skip
    try:
        app.start()
        app.wait_ready(LOGIN, 300)
        return time.monotonic() - began
    finally:
        app.stop()
        orphans.extend(app.orphans)


def time_probe(url: str) -> float:
    port = free_port()
    began = time.monotonic()
    probe = subprocess.Popen([sys.executable, "-m", "bench.probe_app", url, str(port)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        AppServer(None, port=port).wait_ready("/", 60)
        return time.monotonic() - began
    finally:
        probe.terminate()
        probe.wait(timeout=10)


def run() -> Result:
    result = Result("cold_start", "Process start -> first 200 on /admin/login")
    admin_url, server = bench_server()
    folder = Path(tempfile.mkdtemp(prefix="csdemo"))
    folder.chmod(0o755)
    try:
        url = prepare_app_database(admin_url)
        progress("baseline: bare NiceGUI probe app x3")
        probe = statistics.median(time_probe(url) for _ in range(3))
        progress("cliftonsites serve (migrated database) x3")
        serves = [time_serve(url) for _ in range(3)]
        kw = {"baseline": round(probe, 2), "baseline_name": "bare NiceGUI app"}
        result.add(at_most("serve, migrated database (median of 3)",
                           statistics.median(serves), "s", 5.0, **kw))  # fmt: skip
        progress("cliftonsites demo on an empty data folder (initdb, migrate, seed, admin)")
        orphans: list[int] = []
        first = time_demo(folder, orphans)
        progress("cliftonsites demo again on the same data folder")
        again = time_demo(folder, orphans)
        result.add(at_most("demo, existing data folder", again, "s", 5.0, **kw))
        result.add(plain("demo, first run on an empty folder", first, "s", **kw))
        result.details.update({"serve_seconds": serves, "probe_seconds_median": probe,
                               "demo_children_left_running_at_exit": orphans})  # fmt: skip
        if orphans:
            result.notes.append(
                f"`cliftonsites demo` left {len(orphans)} child process(es) (its worker) running"
                " after SIGTERM; the bench killed them"
            )
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)
    result.notes.append("each start is a new process: imports, migrations check, pool, live bus")
    return result


if __name__ == "__main__":
    main(run)
