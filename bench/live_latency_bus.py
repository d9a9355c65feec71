"""Live bus latency and fan-out on this machine, on a real (embedded) PostgreSQL.

Measures, over N isolated events (default 300, spaced 30 ms apart):
- commit -> per-table change callback (what a live log tail reacts to);
- commit -> coalesced snapshot delivered (window + the real get_dashboard_snapshot());
and, for a burst of 50 inserts (one transaction, then 50 separate commits), the
number of snapshot queries with 1 and with 200 subscribers.

Run from the repository root: .venv/bin/python -m bench.live_latency_bus [--events 300]
Times start just before the committing statement is sent, so they include its round trip.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from dashboard.backends.embedded import start_embedded
from dashboard.backends.postgres import PostgresBackend
from dashboard.data.overview import get_dashboard_snapshot
from dashboard.live.bus import LiveBus
from dashboard.live.postgres_source import PostgresChangeSource
from tests.dbutil import create_migrated_database, drop_database, reset_database

INSERT_LOG = (
    "insert into public.automation_logs (process, level, message) values ('system', 'info', %s)"
)


def summary(xs: list[float]) -> str:
    q = statistics.quantiles(xs, n=100)
    return f"p50 {statistics.median(xs):6.2f} ms  p95 {q[94]:6.2f} ms  p99 {q[98]:6.2f} ms"


async def latency(bus: LiveBus[Any], conn: psycopg.AsyncConnection[Any], events: int) -> None:
    arrived: list[float] = []
    snapshots: list[float] = []
    bus.subscribe("automation_logs", lambda _c: arrived.append(time.perf_counter()))
    bus.on_snapshot(lambda _s: snapshots.append(time.perf_counter()))
    change_ms: list[float] = []
    snapshot_ms: list[float] = []
    for i in range(events):
        await asyncio.sleep(0.03)
        n = len(snapshots)
        started = time.perf_counter()
        await conn.execute(INSERT_LOG, (f"latency {i}",))
        await bus.wait_for(lambda i=i, n=n: len(arrived) > i and len(snapshots) > n, 5)
        change_ms.append((arrived[i] - started) * 1000)
        snapshot_ms.append((snapshots[n] - started) * 1000)
    print(f"commit -> change callback   ({events} events): {summary(change_ms)}")
    print(f"commit -> snapshot delivered ({events} events): {summary(snapshot_ms)}")


async def burst_queries(bus: LiveBus[Any], conn: psycopg.AsyncConnection[Any]) -> None:
    for subscribers in (1, 200):
        subs = [bus.on_snapshot(lambda _s: None) for _ in range(subscribers)]
        before = bus.snapshot_queries
        async with conn.transaction():
            for i in range(50):
                await conn.execute(INSERT_LOG, (f"burst {i}",))
        await asyncio.sleep(0.3)
        one_tx = bus.snapshot_queries - before
        before = bus.snapshot_queries
        started = time.perf_counter()
        for i in range(50):
            await conn.execute(INSERT_LOG, (f"commit {i}",))
        spread = (time.perf_counter() - started) * 1000
        await asyncio.sleep(0.3)
        print(
            f"{subscribers:>3} subscribers: burst of 50 in one transaction -> {one_tx} snapshot"
            f" query; 50 commits over {spread:.0f} ms -> {bus.snapshot_queries - before} queries"
        )
        for sub in subs:
            sub.cancel()


async def main(events: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="csbl"))
    folder.chmod(0o755)
    admin_url, server = start_embedded(folder)
    url = create_migrated_database(admin_url)
    reset_database(url)
    backend = await PostgresBackend(url).open()
    bus: LiveBus[Any] = LiveBus(PostgresChangeSource(url), lambda: get_dashboard_snapshot(backend))
    try:
        await bus.start()
        await bus.wait_for(lambda: bus.connected and bus.version >= 1, 10)
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await latency(bus, conn, events)
            await burst_queries(bus, conn)
        print(f"bus stats: {bus.stats()}")
    finally:
        await bus.stop()
        await backend.close()
        drop_database(admin_url, url)
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300)
    asyncio.run(main(parser.parse_args().events))
