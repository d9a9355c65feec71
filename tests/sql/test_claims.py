"""Claims under concurrency and their fencing: exactly-once draining, stale resets at their
boundaries, and late finishes from workers whose claim was reset."""

from __future__ import annotations

import threading
import time
from uuid import UUID

import psycopg
import pytest

from dashboard.backends.base import SERVICE, BackendError
from dashboard.backends.postgres import PostgresBackend
from dashboard.data import automation, queue

WORKERS = 16
BUSINESSES = 20_000


def drain(url: str, worker: str, claimed: list[int]) -> None:
    """Claim until the queue is empty, each call one PostgREST-like transaction."""
    with psycopg.connect(url, autocommit=True) as conn:
        while True:
            with conn.transaction():
                conn.execute(
                    "select set_config('role', 'service_role', true),"
                    " set_config('request.jwt.claims', '{\"role\": \"service_role\"}', true)"
                )
                row = conn.execute(
                    "select id from public.claim_next_business(%s)", [worker]
                ).fetchone()
            if row is None:
                return
            claimed.append(row[0])


@pytest.mark.slow
def test_sixteen_workers_drain_twenty_thousand_businesses_each_exactly_once(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "insert into public.pipeline_businesses (place_id, name, category, city, region,"
            " priority) select 'p' || g, 'Business ' || g, 'plumber', 'Leeds', 'England', g %% 7"
            " from generate_series(1, %s) g",
            [BUSINESSES],
        )
        conn.execute("vacuum analyze public.pipeline_businesses")
    per_worker: list[list[int]] = [[] for _ in range(WORKERS)]
    threads = [
        threading.Thread(target=drain, args=(db_url, f"w{i}", per_worker[i]))
        for i in range(WORKERS)
    ]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    all_ids = [i for ids in per_worker for i in ids]
    assert len(all_ids) == BUSINESSES and len(set(all_ids)) == BUSINESSES
    assert sum(1 for ids in per_worker if ids) == WORKERS  # every worker got work
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "select count(*) filter (where status = 'started' and attempts = 1),"
            " count(distinct claim_token) from public.pipeline_businesses"
        ).fetchone()
    assert row == (BUSINESSES, BUSINESSES)
    print(
        f"drained {BUSINESSES} claims with {WORKERS} workers in {elapsed:.2f}s"
        f" ({BUSINESSES / elapsed:.0f}/s)"
    )


async def set_started(
    backend: PostgresBackend, age: str, *, attempts: int = 1, status: str = "started"
) -> int:
    """A business claimed `age` ago (an SQL interval), with its claim token."""
    async with backend.owner() as conn:
        cur = await conn.execute(
            "insert into public.pipeline_businesses (place_id, name, category, city, region,"
            " status, attempts, claimed_by, claim_token, started_at, finished_at)"
            " values ('p-' || gen_random_uuid(), 'Biz', 'baker', 'York', 'England', %s, %s,"
            " 'old-worker', gen_random_uuid(), now() - %s::interval,"
            " case when %s in ('deployed', 'failed') then now() end) returning id",
            [status, attempts, age, status],
        )
        row = await cur.fetchone()
        assert row is not None
        return int(row["id"])


async def row_of(backend: PostgresBackend, business_id: int) -> dict[str, object]:
    async with backend.owner() as conn:
        cur = await conn.execute(
            "select status, claimed_by, claim_token, started_at, finished_at, last_error"
            " from public.pipeline_businesses where id = %s",
            [business_id],
        )
        row = await cur.fetchone()
        assert row is not None
        return row


async def test_stale_reset_honours_its_boundaries(backend: PostgresBackend) -> None:
    # default stale_after_minutes = 15, max_attempts = 3
    just_past = await set_started(backend, "15 minutes 2 seconds")
    just_short = await set_started(backend, "14 minutes 58 seconds")
    exhausted = await set_started(backend, "16 minutes", attempts=3)
    deployed = await set_started(backend, "2 hours", status="deployed")
    failed = await set_started(backend, "2 hours", status="failed")
    before_finished = [await row_of(backend, i) for i in (deployed, failed)]

    assert await queue.reset_stale_started_businesses(backend) == 2

    requeued = await row_of(backend, just_past)
    assert requeued["status"] == "queued" and requeued["claim_token"] is None
    assert requeued["claimed_by"] is None and "stale" in str(requeued["last_error"])
    assert (await row_of(backend, just_short))["status"] == "started"
    gave_up = await row_of(backend, exhausted)
    assert gave_up["status"] == "failed" and gave_up["finished_at"] is not None
    assert "no attempts left" in str(gave_up["last_error"])
    assert [await row_of(backend, i) for i in (deployed, failed)] == before_finished


async def test_stale_reset_takes_an_explicit_limit(backend: PostgresBackend) -> None:
    five = await set_started(backend, "5 minutes 1 second")
    four = await set_started(backend, "4 minutes 59 seconds")
    assert await queue.reset_stale_started_businesses(backend, 5) == 1
    assert (await row_of(backend, five))["status"] == "queued"
    assert (await row_of(backend, four))["status"] == "started"


async def test_stale_reset_reads_the_configured_limit(backend: PostgresBackend) -> None:
    await automation.update_automation_config(
        backend, {"stale_after_minutes": 3}, "t@x.io", caller=SERVICE
    )
    business = await set_started(backend, "3 minutes 1 second")
    assert await queue.reset_stale_started_businesses(backend) == 1
    assert (await row_of(backend, business))["status"] == "queued"


async def reset_claim(backend: PostgresBackend) -> tuple[int, UUID]:
    """Claim a business, let the claim go stale and reset it; return the lost claim."""
    async with backend.owner() as conn:
        await conn.execute(
            "insert into public.pipeline_businesses (place_id, name, category, city, region)"
            " values ('late-1', 'Late Ltd', 'roofer', 'Bath', 'England')"
        )
    claim = await queue.claim_next_business(backend, "slow-worker")
    assert claim is not None and claim.claim_token is not None
    async with backend.owner() as conn:
        await conn.execute(
            "update public.pipeline_businesses set started_at = now() - interval '1 hour'"
            " where id = %s",
            [claim.id],
        )
    assert await queue.reset_stale_started_businesses(backend) == 1
    return claim.id, claim.claim_token


async def test_a_late_deploy_after_a_reset_changes_nothing(backend: PostgresBackend) -> None:
    business_id, lost_token = await reset_claim(backend)
    before = await row_of(backend, business_id)
    with pytest.raises(BackendError) as err:
        await queue.mark_business_deployed(backend, business_id, "u/{uuid}", lost_token)
    assert err.value.code == "55000" and "claim lost" in err.value.message
    assert await row_of(backend, business_id) == before
    async with backend.owner() as conn:
        cur = await conn.execute("select count(*) as n from public.qualified_businesses")
        assert (await cur.fetchone()) == {"n": 0}


async def test_a_late_finish_cannot_touch_the_new_claim(backend: PostgresBackend) -> None:
    business_id, lost_token = await reset_claim(backend)
    new = await queue.claim_next_business(backend, "fresh-worker")
    assert new is not None and new.id == business_id and new.claim_token != lost_token
    for late in (
        queue.mark_business_deployed(backend, business_id, "u/{uuid}", lost_token),
        queue.mark_business_failed(backend, business_id, lost_token, "late error"),
    ):
        with pytest.raises(BackendError) as err:
            await late
        assert err.value.code == "55000"
    current = await row_of(backend, business_id)
    assert current["claimed_by"] == "fresh-worker" and current["claim_token"] == new.claim_token
    assert new.claim_token is not None
    site = await queue.mark_business_deployed(backend, business_id, "u/{uuid}", new.claim_token)
    assert site.pipeline_business_id == business_id


async def test_a_late_failure_after_a_reset_changes_nothing(backend: PostgresBackend) -> None:
    business_id, lost_token = await reset_claim(backend)
    before = await row_of(backend, business_id)
    with pytest.raises(BackendError) as err:
        await queue.mark_business_failed(backend, business_id, lost_token, "late", retry=False)
    assert err.value.code == "55000"
    assert await row_of(backend, business_id) == before


async def test_a_workers_claims_run_as_the_prepared_statements_the_bench_sends(
    db_url: str,
) -> None:
    """bench/claims.py runs the claim path with `pgbench -M prepared` because the data
    layer's connection prepares both statements of a claim (psycopg prepares a statement
    on its fifth run); if that stops being true, the bench must change with it."""
    from bench.claims import CLAIM_SCRIPT

    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "insert into public.pipeline_businesses (place_id, name, category, city, region)"
            " select 'p' || g, 'Business ' || g, 'plumber', 'Leeds', 'England'"
            " from generate_series(1, 8) g"
        )
    one_connection = await PostgresBackend(db_url, min_size=1, max_size=1).open()
    try:
        claimed = [await queue.claim_next_business(one_connection, "w1") for _ in range(6)]
        async with one_connection.owner() as conn:
            cur = await conn.execute("select statement from pg_prepared_statements")
            prepared = {row["statement"] for row in await cur.fetchall()}
    finally:
        await one_connection.close()
    assert len({b.id for b in claimed if b is not None}) == 6
    call = 'select * from public."claim_next_business"("p_worker_id" => $1)'
    role = "select set_config('role', $1, true), set_config('request.jwt.claims', $2, true)"
    assert {call, role} <= prepared
    assert 'select * from public."claim_next_business"("p_worker_id" => ' in CLAIM_SCRIPT
    assert "set_config('request.jwt.claims'" in CLAIM_SCRIPT
    # one implicit transaction, as `PostgresBackend.rpc` sends it
    assert "begin;" not in CLAIM_SCRIPT and "commit;" not in CLAIM_SCRIPT
