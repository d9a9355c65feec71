"""Fan-out: 200 signed-in dashboard clients on the overview, one committed event.

Reports the time from the commit until every client has the new queue figure (goal
<= 250 ms), the median arrival, and the database work the burst caused: calls of each
dashboard function (from pg_stat_user_functions, `track_functions = all` on the bench
database) and transactions (pg_stat_database), minus an idle window of the same
length. Goal: one snapshot query per burst, whatever the number of clients.

The clients are lightweight (bench/socket_clients.py): a real page load and NiceGUI's
socket handshake, so the server holds a full client for each; only rendering is skipped.

Run: .venv/bin/python -m bench.fanout [--clients 200]
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import psycopg

from bench.app_server import AppServer, prepare_app_database, session_tickets
from bench.common import Result, at_most, bench_server, int_option, main, plain, progress
from bench.socket_clients import PageClient, open_clients

WAIT_SECONDS = 120.0  # how long to wait for the slowest client before calling it lost
STATS_SETTLE = 12.0  # PostgreSQL flushes a backend's counters within ~10 s of going idle
FUNCTIONS = ("get_dashboard_snapshot", "get_throughput_timeseries", "get_conversion_funnel",
             "get_queue_statistics", "search_businesses")  # fmt: skip
INSERT = (
    "insert into public.pipeline_businesses (place_id, name, category, city, region)"
    " values (%s, 'Fan-out probe', 'plumber', 'Austin', 'TX')"
)


def client_count() -> int:
    return int_option("--clients", 200)


def counters(url: str) -> dict[str, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "select funcname, calls from pg_stat_user_functions where schemaname = 'public'"
        ).fetchall()
        xact = conn.execute(
            "select xact_commit + xact_rollback from pg_stat_database"
            " where datname = current_database()"
        ).fetchone()
    found = {name: int(calls) for name, calls in rows}
    found["transactions"] = int(xact[0]) if xact else 0
    return found


def delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: after.get(k, 0) - before.get(k, 0) for k in set(after) | set(before)}


async def one_event(url: str, everyone: list[PageClient]) -> dict[str, Any]:
    clients = [c for c in everyone if c.connected]
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "select count(*) from public.pipeline_businesses where status = 'queued'"
        ).fetchone()
        assert row is not None
        expected = f"{int(row[0]) + 1:,}"
        for c in clients:
            c.expect(expected)
        sent_at = time.time()
        conn.execute(INSERT, (f"bench-fanout-{time.time_ns()}",))
    deadline = time.monotonic() + WAIT_SECONDS
    shown = 0
    while time.monotonic() < deadline and any(c.arrived_at is None for c in clients):
        await asyncio.sleep(0.005)
        got = sum(c.arrived_at is not None for c in clients)
        if got // 50 > shown // 50:
            progress(f"{got}/{len(clients)} clients have the event")
        shown = got
    arrivals = [(c.arrived_at - sent_at) * 1000 for c in clients if c.arrived_at is not None]
    return {
        "opened": len(everyone),
        "dropped_before_event": len(everyone) - len(clients),
        "clients": len(clients),
        "received": len(arrivals),
        "all_ms": max(arrivals) if len(arrivals) == len(clients) else float("inf"),
        "median_ms": statistics.median(arrivals) if arrivals else float("inf"),
        "first_ms": min(arrivals) if arrivals else float("inf"),
        "updates_per_client": statistics.median(c.updates for c in clients),
    }


async def measure(url: str, app: AppServer, n: int, result: Result) -> None:
    progress(f"signing in {n} admins' sessions and opening {n} overview clients")
    tickets = await session_tickets(url, n)
    began = time.monotonic()
    clients = await open_clients(app.base, tickets)
    progress(f"{n} clients connected in {time.monotonic() - began:.1f} s")
    try:
        await asyncio.sleep(STATS_SETTLE)
        idle_start = counters(url)
        await asyncio.sleep(STATS_SETTLE)
        before = counters(url)
        progress("one event: insert a queued business")
        event = await one_event(url, clients)
        await asyncio.sleep(STATS_SETTLE)
        after = counters(url)
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
    idle = delta(before, idle_start)
    burst = {k: v - idle.get(k, 0) for k, v in delta(after, before).items() if v}
    burst["transactions"] = burst.get("transactions", 0) - 1  # the event's own insert
    result.details.update({"event": event, "burst_minus_idle": burst, "idle_window": idle,
                           "settle_seconds": STATS_SETTLE})  # fmt: skip
    result.add(plain("clients still connected at the event", event["clients"], "clients"))
    fig = at_most("all connected clients have the event", event["all_ms"], "ms", 250.0)
    fig.met = fig.met and event["clients"] == n
    result.add(fig)
    result.add(plain("median client has it", event["median_ms"], "ms"))
    snap = burst.get("get_dashboard_snapshot", 0)
    result.add(at_most("snapshot queries per burst", snap, "queries", 1))
    other = sum(burst.get(f, 0) for f in FUNCTIONS if f != "get_dashboard_snapshot")
    result.add(plain("other dashboard RPCs in the burst", other, "calls"))
    result.add(
        plain(
            f"transactions in {STATS_SETTLE:g} s after the event",
            burst["transactions"] + idle.get("transactions", 0),
            "xacts",
        )
    )
    result.add(
        plain(
            f"transactions in {STATS_SETTLE:g} s idle, same clients",
            idle.get("transactions", 0),
            "xacts",
        )
    )


def run() -> Result:
    n = client_count()
    result = Result("fanout", f"One event to {n} connected overview clients")
    admin_url, server = bench_server()
    try:
        url = prepare_app_database(admin_url)
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute("alter database bench_app set track_functions = 'all'")
        with AppServer(url) as app:
            app.wait_ready()
            asyncio.run(measure(url, app, n, result))
    finally:
        server.cleanup()
    result.notes.append(
        "clients run in one Python process beside the server on 2 shared cores, so arrival"
        " times include the clients' own socket handling (an upper bound)"
    )
    return result


if __name__ == "__main__":
    main(run)
