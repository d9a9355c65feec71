"""Scale: the dashboard's reads on 1,000,000 pipeline businesses (about 280,000 of
them qualified), on the bench's embedded server.

The database `bench_scale` is seeded once with `cliftonsites db seed`'s COPY path and
kept in `.data/bench-pg`, so later runs start measuring at once. Each query runs
through the app's own data layer (PostgREST semantics: one transaction that sets the
role and claims, then the RPC), which is what a page pays; `select 1` through the same
path is the baseline, so the ratio shows what the query itself adds.

Run: .venv/bin/python -m bench.scale [--reseed]
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg

from bench.common import (
    Result,
    at_most,
    bench_server,
    ensure_database,
    main,
    plain,
    progress,
    quantiles,
)

DB_NAME = "bench_scale"
BUSINESSES = 1_000_000
TARGETS = 500  # target_grid repeats cells past 500 (see the report)
ROUNDS = 60


def seeded_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "select (select count(*) from public.pipeline_businesses),"
            " (select count(*) from public.qualified_businesses),"
            " (select count(*) from public.automation_logs)"
        ).fetchone()
    assert row is not None
    return {"pipeline": row[0], "qualified": row[1], "logs": row[2]}


def ensure_seeded(admin_url: str, *, reseed: bool = False) -> tuple[str, dict[str, int]]:
    """The 1M database, seeded now only if it is missing or incomplete."""
    url = ensure_database(admin_url, DB_NAME)
    counts = seeded_counts(url)
    if counts["pipeline"] == BUSINESSES and not reseed:
        progress(f"scale database already seeded: {counts}")
        return url, counts
    from dashboard.seed import seed_database

    url = ensure_database(admin_url, DB_NAME, fresh=True)
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        if done[0] % 100_000 < n:
            progress(f"seeding: {done[0]:,} / {BUSINESSES:,} businesses")

    progress(f"seeding {BUSINESSES:,} businesses (COPY, one transaction; ~2-4 min here)")
    report = seed_database(url, businesses=BUSINESSES, targets=TARGETS, progress=tick)
    progress(report.message)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("vacuum (analyze) public.pipeline_businesses, public.qualified_businesses,"
                     " public.automation_logs")  # fmt: skip
    return url, seeded_counts(url)


async def timed(call: Callable[[], Awaitable[Any]], rounds: int = ROUNDS) -> dict[str, float]:
    for _ in range(3):  # warm the plan cache and the buffers
        await call()
    samples = []
    for _ in range(rounds):
        began = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - began) * 1000)
    return quantiles(samples)


async def measure(url: str, result: Result) -> None:
    from dashboard.backends.base import Filter, Order
    from dashboard.backends.postgres import PostgresBackend
    from dashboard.data.overview import (
        get_conversion_funnel,
        get_dashboard_snapshot,
        get_throughput_timeseries,
        search_businesses,
    )

    api = await PostgresBackend(url, max_size=2).open()
    try:
        deep = await _deep_id(url)
        base = await timed(lambda: _lightest(api))
        result.details["baseline_select_1_ms"] = base
        calls: list[tuple[str, Callable[[], Awaitable[Any]], float | None]] = [
            ("get_dashboard_snapshot()", lambda: get_dashboard_snapshot(api), 20.0),
            ("search_businesses first page", lambda: search_businesses(api), 10.0),
            (f"search_businesses deep page (id < {deep:,})",
             lambda: search_businesses(api, before_id=deep), 10.0),
            ("search_businesses 'plumb' first page",
             lambda: search_businesses(api, query="plumb"), None),
            ("search_businesses claimed first page",
             lambda: search_businesses(api, status="claimed"), None),
            # the overview's charts: read once per CHART_SECONDS per app process
            ("get_throughput_timeseries(24, 'hour')",
             lambda: get_throughput_timeseries(api, 24, "hour"), None),
            ("get_conversion_funnel()", lambda: get_conversion_funnel(api), None),
            ("logs page (newest 51)", lambda: api.select(
                "automation_logs", order=[Order("id", desc=True)], limit=51), None),
            ("logs page filtered (implementation, error)", lambda: api.select(
                "automation_logs", filters=[Filter("process", "eq", "implementation"),
                Filter("level", "eq", "error")], order=[Order("id", desc=True)], limit=51), None),
        ]  # fmt: skip
        for name, call, goal in calls:
            progress(f"timing {name} x{ROUNDS}")
            q = await timed(call)
            result.details[name] = q
            kw = {"baseline": base["p50"], "baseline_name": "select 1, same path"}
            if goal is None:
                result.add(plain(f"{name} p50", q["p50"], "ms", **kw))
            else:
                result.add(at_most(f"{name} p50", q["p50"], "ms", goal, **kw))
            result.add(plain(f"{name} p95", q["p95"], "ms"))
    finally:
        await api.close()


async def _lightest(api: Any) -> None:
    from dashboard.backends.base import SERVICE

    # the RPC path: role and claims, the statement, one round trip
    await api._run(SERVICE, [("select 1", ())])


async def _deep_id(url: str) -> int:
    """An id about 95 % of the way down the newest-first order: a deep keyset page."""
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute(
            "select id from public.pipeline_businesses order by id offset %s limit 1",
            (BUSINESSES // 20,),
        )
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


def run() -> Result:
    result = Result("scale", "Dashboard reads at 1,000,000 businesses")
    admin_url, server = bench_server()
    try:
        url, counts = ensure_seeded(admin_url, reseed="--reseed" in sys.argv)
        result.details["counts"] = counts
        result.add(plain("pipeline businesses", counts["pipeline"], "rows"))
        result.add(plain("qualified businesses", counts["qualified"], "rows"))
        asyncio.run(measure(url, result))
    finally:
        server.cleanup()
    result.notes.append(
        "baseline: `select 1` through the same data path (pooled connection, transaction,"
        " PostgREST role and claims); ratio = query p50 / baseline p50"
    )
    return result


if __name__ == "__main__":
    main(run)
