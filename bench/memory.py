"""Memory: server RSS per connected admin on the overview (goal <= 300 KB).

The real app runs as a subprocess; after one warm-up client (imports, first page,
caches), clients connect in steps (0 -> 100 -> 200, by default) and the RSS of the
server process is read after each step settles. The figure is the slope: RSS added
per client from the first to the last step. Clients are the lightweight socket
clients of bench/socket_clients.py, so the server holds a full NiceGUI client each.

Run: .venv/bin/python -m bench.memory [--clients 200]
"""

from __future__ import annotations

import asyncio
import gc

import psutil

from bench.app_server import AppServer, prepare_app_database, session_tickets
from bench.common import Result, at_most, bench_server, int_option, main, plain, progress
from bench.socket_clients import PageClient, open_clients

SETTLE = 3.0


def client_count() -> int:
    return int_option("--clients", 200)


def rss_kb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 1024


async def measure(url: str, app: AppServer, n: int, result: Result) -> None:
    assert app.proc is not None
    pid = app.proc.pid
    tickets = await session_tickets(url, n + 1)
    warm = await open_clients(app.base, tickets[:1])
    await asyncio.sleep(SETTLE)
    steps: list[tuple[int, float]] = [(0, rss_kb(pid))]
    progress(f"server RSS with 1 warm-up client: {steps[0][1] / 1024:.1f} MB")
    held: list[PageClient] = []
    half = n // 2
    try:
        for target in (half, n):
            held += await open_clients(app.base, tickets[1 + len(held) : 1 + target])
            gc.collect()
            await asyncio.sleep(SETTLE)
            steps.append((target, rss_kb(pid)))
            progress(f"server RSS with {target} clients: {steps[-1][1] / 1024:.1f} MB")
    finally:
        await asyncio.gather(*(c.close() for c in held + warm), return_exceptions=True)
    await asyncio.sleep(SETTLE * 2)
    after = rss_kb(pid)
    per_client = (steps[-1][1] - steps[0][1]) / n
    second_half = (steps[-1][1] - steps[1][1]) / (n - half)
    result.details.update({"rss_kb_by_clients": steps, "rss_kb_after_disconnect": after})
    result.add(at_most("server RSS per connected admin", per_client, "KB", 300.0))
    result.add(plain(f"per admin, clients {half}->{n}", second_half, "KB"))
    result.add(plain(f"server RSS with {n} admins", steps[-1][1] / 1024, "MB"))


def run() -> Result:
    n = client_count()
    result = Result("memory", f"Server RSS per connected admin ({n} overview clients)")
    admin_url, server = bench_server()
    try:
        url = prepare_app_database(admin_url)
        with AppServer(url) as app:
            app.wait_ready()
            asyncio.run(measure(url, app, n, result))
    finally:
        server.cleanup()
    result.notes.append(
        "RSS of the app process only (the database runs apart); CPython seldom returns freed"
        " memory to the OS, so the RSS after disconnecting is reported, not judged"
    )
    return result


if __name__ == "__main__":
    main(run)
