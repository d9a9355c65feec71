"""Dashboard reads: the snapshot, throughput buckets, the funnel, keyset search, the queue view."""

from __future__ import annotations

import itertools
from datetime import timedelta

import psycopg

from dashboard.backends.postgres import PostgresBackend
from dashboard.data import automation, outreach, overview, payments, queue

FIXTURE = """
insert into public.identification_targets (position, city, region, category) values
  (1, 'Bath', 'England', 'baker'), (2, 'York', 'England', 'florist');
insert into public.pipeline_businesses (place_id, name, category, city, region, target_id,
  status, created_at) values
  ('ChIJ-bath-1', 'Crusty Loaf Bakery', 'baker', 'Bath', 'England', 1, 'queued', now()),
  ('ChIJ-bath-2', 'Bath Buns', 'baker', 'Bath', 'England', 1, 'queued', now()),
  ('ChIJ-york-1', 'Petal & Stem', 'florist', 'York', 'England', 2, 'queued',
   now() - interval '3 hours'),
  ('ChIJ-none-1', '100% Flowers_Ltd', 'florist', 'Leeds', 'England', null, 'skipped', now());
"""


async def deploy_all(backend: PostgresBackend) -> list[str]:
    """Claim and deploy every queued business; return their public uuids."""
    uuids = []
    while (claim := await queue.claim_next_business(backend, "w")) is not None:
        assert claim.claim_token is not None
        site = await queue.mark_business_deployed(backend, claim.id, "s/{uuid}", claim.claim_token)
        uuids.append(site.uuid)
    return uuids


async def test_the_snapshot_holds_everything_the_overview_paints(
    backend: PostgresBackend,
) -> None:
    async with backend.owner() as conn:
        await conn.execute(FIXTURE)
    run_id = await automation.start_automation_run(backend, "implementation", "w")
    for i in range(25):
        await automation.log_automation_event(backend, "system", "info", f"line {i}", run_id)
    snapshot = await overview.get_dashboard_snapshot(backend)
    assert snapshot.queue.counts.queued == 3 and snapshot.queue.total == 4
    assert snapshot.identification.total == 2
    assert [s.process for s in snapshot.status] == ["identification", "implementation"]
    assert snapshot.config.daily_deploy_limit == 500
    assert [r.id for r in snapshot.runs] == [run_id]
    assert len(snapshot.recent_logs) == 20 and snapshot.recent_logs[0].message == "line 24"


async def test_throughput_has_every_bucket_with_zeros(backend: PostgresBackend) -> None:
    async with backend.owner() as conn:
        await conn.execute(FIXTURE)
    [uuid, *_] = await deploy_all(backend)
    await payments.mark_business_claimed(backend, uuid, "pi_1")
    points = await overview.get_throughput_timeseries(backend, 6, "hour")
    assert len(points) == 7  # the partial first hour, five whole ones, and this one
    steps = {b.bucket - a.bucket for a, b in itertools.pairwise(points)}
    assert steps == {timedelta(hours=1)}
    assert sum(p.identified for p in points) == 4
    last = points[-1]
    assert (last.deployed, last.claimed) == (3, 1)
    assert points[-4].identified == 1 and points[0].identified == 0
    days = await overview.get_throughput_timeseries(backend, 48, "day")
    assert len(days) in (3, 4) and sum(p.identified for p in days) == 4


async def test_the_funnel_counts_overall_then_per_target(backend: PostgresBackend) -> None:
    async with backend.owner() as conn:
        await conn.execute(FIXTURE)
    await deploy_all(backend)
    async with backend.owner() as conn:
        cur = await conn.execute("select id, uuid, name from public.qualified_businesses")
        sites = {r["name"]: r for r in await cur.fetchall()}
    crusty = sites["Crusty Loaf Bakery"]
    await outreach.set_outreach_status(backend, crusty["id"], "started", "camp-1", "lead-1")
    await outreach.record_outreach_event(
        backend, "smartlead", "e1", "EMAIL_REPLY", {}, crusty["id"]
    )
    await payments.mark_business_claimed(backend, crusty["uuid"], "pi_1")
    rows = await overview.get_conversion_funnel(backend)
    assert [r.target_id for r in rows] == [None, 1, 2]
    overall, bath, york = rows
    assert (overall.identified, overall.deployed, overall.outreach_started) == (4, 3, 1)
    assert (overall.replied, overall.claimed) == (1, 1)
    assert (bath.city, bath.identified, bath.deployed, bath.claimed) == ("Bath", 2, 2, 1)
    assert (york.identified, york.deployed, york.replied) == (1, 1, 0)
    [only] = await overview.get_conversion_funnel(backend, 2)
    assert only.target_id == 2 and only.identified == 1


async def test_search_pages_newest_first_by_keyset(backend: PostgresBackend) -> None:
    async with backend.owner() as conn:
        await conn.execute(FIXTURE)
    first = await overview.search_businesses(backend, limit=3)
    assert [r.id for r in first] == [4, 3, 2]
    rest = await overview.search_businesses(backend, before_id=first[-1].id, limit=3)
    assert [r.id for r in rest] == [1]


async def test_search_counts_its_matches_exactly_up_to_ten_thousand(
    backend: PostgresBackend,
) -> None:
    async with backend.owner() as conn:
        await conn.execute(FIXTURE)
    page = await overview.search_businesses_page(backend, "bath", limit=1)
    assert len(page.rows) == 1 and page.total is not None
    assert (page.total.count, page.total.estimated) == (2, False)
    later = await overview.search_businesses_page(backend, before_id=4, limit=1)
    assert later.total is None  # the caller has the count from the first page
    none = await overview.search_businesses_page(backend, "nowhere")
    assert none.rows == [] and none.total is not None and none.total.count == 0


async def test_search_beyond_ten_thousand_matches_gives_a_flagged_estimate(
    backend: PostgresBackend,
) -> None:
    async with backend.owner() as conn:
        await conn.execute(
            "insert into public.pipeline_businesses (place_id, name, category, city, region)"
            " select 'p-' || i, 'Shop ' || i, 'baker', 'Bath', 'England'"
            " from generate_series(1, 12000) i"
        )
        await conn.execute("analyze public.pipeline_businesses")
    page = await overview.search_businesses_page(backend, limit=5)
    assert page.total is not None and page.total.estimated
    assert 10_001 <= page.total.count <= 20_000
    exact = await overview.search_businesses_page(backend, "Shop 1234", limit=5)
    assert exact.total is not None and (exact.total.count, exact.total.estimated) == (1, False)


async def test_search_matches_name_city_place_id_and_uuid(backend: PostgresBackend) -> None:
    async with backend.owner() as conn:
        await conn.execute(FIXTURE)
    assert [r.name for r in await overview.search_businesses(backend, "crusty")] == [
        "Crusty Loaf Bakery"
    ]
    assert {r.id for r in await overview.search_businesses(backend, "bath")} == {1, 2}
    assert [r.id for r in await overview.search_businesses(backend, "ChIJ-york-1")] == [3]
    assert [r.id for r in await overview.search_businesses(backend, "100%")] == [4]
    assert await overview.search_businesses(backend, "1_0") == []  # _ is literal, not a wildcard
    assert [r.id for r in await overview.search_businesses(backend, "s_L")] == [4]
    [uuid, *_] = await deploy_all(backend)
    [hit] = await overview.search_businesses(backend, uuid.upper())
    assert hit.uuid == uuid and hit.site_status == "deployed" and hit.claimed is False


async def test_search_filters_by_status_claimed_and_unclaimed(backend: PostgresBackend) -> None:
    async with backend.owner() as conn:
        await conn.execute(FIXTURE)
    [uuid, *_] = await deploy_all(backend)
    await payments.mark_business_claimed(backend, uuid, "pi_1")
    assert [r.id for r in await overview.search_businesses(backend, status="skipped")] == [4]
    assert len(await overview.search_businesses(backend, status="deployed")) == 3
    [claimed] = await overview.search_businesses(backend, status="claimed")
    assert claimed.uuid == uuid and claimed.claimed is True
    assert len(await overview.search_businesses(backend, status="unclaimed")) == 2
    assert await overview.search_businesses(backend, status="review") == []
    assert await overview.search_businesses(backend, "York", status="skipped") == []


async def test_queue_view_has_all_five_statuses_and_counts_stale_claims(
    backend: PostgresBackend,
) -> None:
    async with backend.owner() as conn:
        await conn.execute(FIXTURE)
        await conn.execute(
            "update public.pipeline_businesses set status = 'started',"
            " started_at = now() - interval '20 minutes' where id = 1;"
            "update public.pipeline_businesses set status = 'started', started_at = now()"
            " where id = 2"
        )
        cur = await conn.execute("select * from public.v_queue_status")
        rows = {r["status"]: r for r in await cur.fetchall()}
    assert list(rows) == ["queued", "started", "deployed", "failed", "skipped"]
    assert rows["started"]["count"] == 2 and rows["started"]["stale_count"] == 1
    assert rows["queued"]["count"] == 1 and rows["queued"]["oldest_age_seconds"] >= 3 * 3600
    assert rows["deployed"]["count"] == 0 and rows["deployed"]["oldest_at"] is None
    stats = await queue.get_queue_statistics(backend)
    assert stats.stale_started == 1


def test_the_argumentless_sql_reads_plan_under_the_jit_threshold_on_a_new_database(
    new_database_url: str,
) -> None:
    """On a database whose tables were never analyzed, the planner guesses row counts;
    a guessed cost past jit_above_cost makes a server with JIT compile the query on every
    call (get_automation_status: 14.9 ms instead of 0.4 ms, migration 005800). Each
    argumentless SQL function's body is planned here as it is there, before any ANALYZE."""
    with psycopg.connect(new_database_url) as conn:
        [(threshold,)] = conn.execute("select current_setting('jit_above_cost')::float").fetchall()
        bodies = conn.execute(
            "select p.proname, p.prosrc from pg_proc p join pg_language l"
            " on l.oid = p.prolang where p.pronamespace = 'public'::regnamespace"
            " and l.lanname = 'sql' and p.pronargs = 0 order by 1"
        ).fetchall()
        conn.execute("set local search_path = ''")  # as the functions run
        costs = {}
        for name, body in bodies:
            [(plan,)] = conn.execute(f"explain (format json) {body}").fetchall()
            costs[name] = plan[0]["Plan"]["Total Cost"]
    assert {"get_automation_status", "get_dashboard_snapshot"} <= set(costs)
    assert {n: c for n, c in costs.items() if c >= threshold} == {}, threshold
