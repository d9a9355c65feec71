"""The queue functions through the data layer: claim, deploy, fail, stale reset, statistics."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest

from dashboard.backends.base import SERVICE, BackendError
from dashboard.backends.postgres import PostgresBackend
from dashboard.data import automation, queue
from tests.factories import add_businesses


async def test_it_claims_by_priority_then_age_and_marks_the_row_started(
    backend: PostgresBackend,
) -> None:
    low = await add_businesses(backend, 2)
    high = await add_businesses(backend, 1, priority=5)
    first = await queue.claim_next_business(backend, "worker-1")
    second = await queue.claim_next_business(backend, "worker-1")
    assert first is not None and second is not None
    assert (first.id, second.id) == (high[0], low[0])
    assert first.status == "started" and first.claimed_by == "worker-1"
    assert first.attempts == 1 and first.claim_token is not None and first.started_at is not None


async def test_it_claims_nothing_when_the_queue_is_empty(backend: PostgresBackend) -> None:
    assert await queue.claim_next_business(backend, "worker-1") is None


async def test_it_claims_nothing_when_implementation_is_disabled(backend: PostgresBackend) -> None:
    await add_businesses(backend, 1)
    await automation.update_automation_config(
        backend, {"implementation_enabled": False}, "t@x.io", caller=SERVICE
    )
    assert await queue.claim_next_business(backend, "worker-1") is None


async def test_it_stops_claiming_at_the_daily_deploy_limit(backend: PostgresBackend) -> None:
    await add_businesses(backend, 3)
    await automation.update_automation_config(
        backend, {"daily_deploy_limit": 1}, "t@x.io", caller=SERVICE
    )
    claim = await queue.claim_next_business(backend, "worker-1")
    assert claim is not None and claim.claim_token is not None
    await queue.mark_business_deployed(backend, claim.id, "https://s/{uuid}", claim.claim_token)
    assert await queue.claim_next_business(backend, "worker-1") is None


async def test_deploying_creates_the_qualified_row_with_its_uuid_in_the_url(
    backend: PostgresBackend,
) -> None:
    await add_businesses(backend, 1)
    claim = await queue.claim_next_business(backend, "worker-1")
    assert claim is not None and claim.claim_token is not None
    site = await queue.mark_business_deployed(
        backend, claim.id, "https://sites.example/{uuid}/", claim.claim_token
    )
    assert len(site.uuid) == 8 and site.uuid.isalnum() and site.uuid == site.uuid.lower()
    assert site.preview_url == f"https://sites.example/{site.uuid}/"
    assert site.pipeline_business_id == claim.id and site.name == claim.name
    assert site.site_status == "deployed" and site.outreach_status == "pending"
    again = await queue.mark_business_deployed(
        backend, claim.id, "https://other/{uuid}", claim.claim_token
    )
    assert again.id == site.id and again.preview_url == site.preview_url


async def deploy_lines(backend: PostgresBackend) -> list[dict[str, Any]]:
    async with backend.owner() as conn:
        cur = await conn.execute(
            "select process, level, message, run_id, business_id, metadata"
            " from public.automation_logs where message like 'deployed %%' order by id"
        )
        return await cur.fetchall()


async def test_deploying_writes_its_log_line_in_the_same_transaction(
    backend: PostgresBackend,
) -> None:
    await add_businesses(backend, 2)
    run_id = await automation.start_automation_run(backend, "implementation", "worker-1")
    await automation.start_automation_run(backend, "identification", "worker-1")
    claim = await queue.claim_next_business(backend, "worker-1")
    other = await queue.claim_next_business(backend, "worker-2")  # a worker with no open run
    assert claim and other and claim.claim_token and other.claim_token
    with pytest.raises(BackendError):  # lost claim: no line
        await queue.mark_business_deployed(backend, claim.id, "u/{uuid}", uuid.uuid4())
    site = await queue.mark_business_deployed(backend, claim.id, "u/{uuid}/", claim.claim_token)
    await queue.mark_business_deployed(backend, claim.id, "u/{uuid}/", claim.claim_token)
    assert await deploy_lines(backend) == [
        {"process": "implementation", "level": "info", "run_id": run_id, "business_id": claim.id,
         "message": f"deployed {claim.name} at u/{site.uuid}/",
         "metadata": {"worker_id": "worker-1", "uuid": site.uuid, "attempt": 1}},
    ]  # fmt: skip
    await queue.mark_business_deployed(backend, other.id, "u/{uuid}/", other.claim_token)
    lines = await deploy_lines(backend)
    assert len(lines) == 2 and lines[1]["business_id"] == other.id and lines[1]["run_id"] is None


async def test_failing_writes_its_log_line_in_the_same_transaction(
    backend: PostgresBackend,
) -> None:
    await add_businesses(backend, 1)
    await automation.update_automation_config(
        backend, {"max_attempts": 2}, "t@x.io", caller=SERVICE
    )
    run_id = await automation.start_automation_run(backend, "implementation", "worker-1")
    first = await queue.claim_next_business(backend, "worker-1")
    assert first is not None and first.claim_token is not None
    with pytest.raises(BackendError):  # lost claim: no line
        await queue.mark_business_failed(backend, first.id, uuid.uuid4(), "boom")
    await queue.mark_business_failed(backend, first.id, first.claim_token, "build: 503")
    again = await queue.claim_next_business(backend, "worker-2")  # no open run
    assert again is not None and again.id == first.id and again.claim_token is not None
    await queue.mark_business_failed(backend, again.id, again.claim_token, "build: 503")
    async with backend.owner() as conn:
        cur = await conn.execute(
            "select level, message, run_id, business_id, metadata"
            " from public.automation_logs order by id"
        )
        lines = await cur.fetchall()
    assert lines == [
        {"level": "warning", "message": f"{first.name}: build: 503; requeued (attempt 1 of 2)",
         "run_id": run_id, "business_id": first.id,
         "metadata": {"worker_id": "worker-1", "attempt": 1}},
        {"level": "error", "message": f"{first.name}: build: 503; failed for good after 2 attempts",
         "run_id": None, "business_id": first.id,
         "metadata": {"worker_id": "worker-2", "attempt": 2}},
    ]  # fmt: skip


async def test_deploying_takes_a_given_uuid_and_refuses_a_used_one(
    backend: PostgresBackend,
) -> None:
    await add_businesses(backend, 2)
    a = await queue.claim_next_business(backend, "w")
    b = await queue.claim_next_business(backend, "w")
    assert a and b and a.claim_token and b.claim_token
    site = await queue.mark_business_deployed(backend, a.id, "u/{uuid}", a.claim_token, "abc12345")
    assert site.uuid == "abc12345"
    with pytest.raises(BackendError) as err:
        await queue.mark_business_deployed(backend, b.id, "u/{uuid}", b.claim_token, "abc12345")
    assert err.value.code == "23505"
    async with backend.owner() as conn:
        cur = await conn.execute(
            "select status from public.pipeline_businesses where id = %s", [b.id]
        )
        assert (await cur.fetchone()) == {"status": "started"}
    assert [line["business_id"] for line in await deploy_lines(backend)] == [a.id]


async def test_deploying_with_a_wrong_token_is_a_lost_claim(backend: PostgresBackend) -> None:
    await add_businesses(backend, 1)
    claim = await queue.claim_next_business(backend, "w")
    assert claim is not None
    with pytest.raises(BackendError) as err:
        await queue.mark_business_deployed(backend, claim.id, "u/{uuid}", uuid.uuid4())
    assert err.value.code == "55000" and "claim lost" in err.value.message


async def test_only_the_claims_own_transaction_commits_asynchronously(
    backend: PostgresBackend,
) -> None:
    await add_businesses(backend, 1)
    service = "select set_config('role', 'service_role', true)"
    async with backend.owner() as conn:
        await conn.execute(service)
        cur = await conn.execute("select id from public.claim_next_business('w')")
        assert await cur.fetchone() is not None
        cur = await conn.execute("select current_setting('synchronous_commit') as mode")
        assert await cur.fetchone() == {"mode": "off"}
    async with backend.owner() as conn:
        await conn.execute(service)
        await conn.execute("select public.get_queue_statistics()")
        cur = await conn.execute("select current_setting('synchronous_commit') as mode")
        assert await cur.fetchone() == {"mode": "on"}


async def test_a_claim_forgotten_by_a_crash_is_claimed_again_and_its_finish_refused(
    backend: PostgresBackend,
) -> None:
    [business_id] = await add_businesses(backend, 1)
    lost = await queue.claim_next_business(backend, "worker-1")
    assert lost is not None and lost.claim_token is not None
    # what recovery leaves when the claim's commit never reached the disk
    async with backend.owner() as conn:
        await conn.execute(
            "update public.pipeline_businesses set status = 'queued', claimed_by = null,"
            " claim_token = null, started_at = null, attempts = 0 where id = %s",
            [business_id],
        )
    again = await queue.claim_next_business(backend, "worker-2")
    assert again is not None and again.id == business_id and again.attempts == 1
    with pytest.raises(BackendError) as err:
        await queue.mark_business_deployed(backend, business_id, "u/{uuid}", lost.claim_token)
    assert err.value.code == "55000"
    assert again.claim_token is not None
    site = await queue.mark_business_deployed(backend, business_id, "u/{uuid}", again.claim_token)
    assert site.pipeline_business_id == business_id
    async with backend.owner() as conn:
        cur = await conn.execute(
            "select count(*) as n from public.qualified_businesses where pipeline_business_id = %s",
            [business_id],
        )
        assert await cur.fetchone() == {"n": 1}


async def test_a_failure_is_requeued_until_max_attempts_then_failed(
    backend: PostgresBackend,
) -> None:
    await automation.update_automation_config(
        backend, {"max_attempts": 2}, "t@x.io", caller=SERVICE
    )
    [business_id] = await add_businesses(backend, 1)
    first = await queue.claim_next_business(backend, "w")
    assert first and first.claim_token
    requeued = await queue.mark_business_failed(backend, business_id, first.claim_token, "timeout")
    assert requeued.status == "queued" and requeued.claim_token is None
    assert requeued.last_error == "timeout" and requeued.finished_at is None
    second = await queue.claim_next_business(backend, "w")
    assert second and second.claim_token and second.attempts == 2
    failed = await queue.mark_business_failed(backend, business_id, second.claim_token, "boom")
    assert failed.status == "failed" and failed.finished_at is not None


async def test_a_release_hands_the_claim_back_without_counting_its_attempt(
    backend: PostgresBackend,
) -> None:
    await automation.update_automation_config(
        backend, {"max_attempts": 1}, "t@x.io", caller=SERVICE
    )
    [business_id] = await add_businesses(backend, 1)
    claim = await queue.claim_next_business(backend, "w")
    assert claim and claim.claim_token and claim.attempts == 1  # the last attempt
    with pytest.raises(BackendError) as err:  # fenced like every finish
        await queue.mark_business_failed(backend, business_id, uuid.uuid4(), "x", release=True)
    assert err.value.code == "55000"
    back = await queue.mark_business_failed(
        backend, business_id, claim.claim_token, "the worker stopped mid-item", release=True
    )
    assert (back.status, back.attempts, back.claim_token, back.claimed_by) == (
        "queued",
        0,
        None,
        None,
    )
    assert back.last_error is None and back.finished_at is None and back.started_at is None
    again = await queue.claim_next_business(backend, "w")
    assert again and again.claim_token and again.attempts == 1
    await queue.mark_business_failed(backend, business_id, again.claim_token, "build: 503", False)
    async with backend.owner() as conn:
        cur = await conn.execute("select level, message from public.automation_logs order by id")
        lines = await cur.fetchall()
    assert lines == [
        {"level": "warning", "message": f"{claim.name}: handed back untried (the worker stopped"
                                        " mid-item); queued again, attempt 1 not counted"},
        {"level": "error",
         "message": f"{claim.name}: build: 503; failed for good after 1 attempts"},
    ]  # fmt: skip


async def test_a_release_keeps_the_businesss_last_error(backend: PostgresBackend) -> None:
    [business_id] = await add_businesses(backend, 1)
    first = await queue.claim_next_business(backend, "w")
    assert first and first.claim_token
    await queue.mark_business_failed(backend, business_id, first.claim_token, "build: 503")
    second = await queue.claim_next_business(backend, "w")
    assert second and second.claim_token and second.attempts == 2
    back = await queue.mark_business_failed(
        backend, business_id, second.claim_token, "stopping", release=True
    )
    assert (back.status, back.attempts, back.last_error) == ("queued", 1, "build: 503")


async def test_a_failure_without_retry_fails_at_once(backend: PostgresBackend) -> None:
    await add_businesses(backend, 1)
    claim = await queue.claim_next_business(backend, "w")
    assert claim and claim.claim_token
    failed = await queue.mark_business_failed(
        backend, claim.id, claim.claim_token, "no address", retry=False
    )
    assert failed.status == "failed" and failed.attempts == 1


async def test_statistics_count_every_status_and_the_last_hour(backend: PostgresBackend) -> None:
    await add_businesses(backend, 4)
    claim = await queue.claim_next_business(backend, "w")
    assert claim and claim.claim_token
    await queue.mark_business_deployed(backend, claim.id, "u/{uuid}", claim.claim_token)
    await queue.claim_next_business(backend, "w")
    stats = await queue.get_queue_statistics(backend)
    counts = stats.counts
    assert (counts.queued, counts.started, counts.deployed, counts.failed) == (2, 1, 1, 0)
    assert stats.total == 4 and stats.stale_started == 0
    assert stats.throughput.last_hour.identified == 4
    assert stats.throughput.last_hour.deployed == 1 and stats.throughput.last_day.deployed == 1
    assert stats.oldest_queued_at is not None and stats.oldest_queued_age_seconds is not None


@pytest.mark.parametrize(
    ("column", "value", "domain"),
    [
        ("name", "   ", "required_text_300"),
        ("place_id", "p" * 301, "required_text_300"),
        ("city", "", "required_text_200"),
        ("status", "bogus", "pipeline_status"),
        ("priority", 1001, "queue_priority"),
        ("rating", 5.5, "star_rating"),
        ("attempts", -1, "non_negative_integer"),
    ],
)
async def test_the_columns_rules_hold_on_insert_and_on_update(
    backend: PostgresBackend, column: str, value: object, domain: str
) -> None:
    """The rules live in domains (checked when a column is written), not table CHECKs."""
    [business_id] = await add_businesses(backend, 1)
    columns = {"place_id": "rule-1", "name": "N", "category": "c", "city": "C", "region": "R"}
    columns[column] = value  # type: ignore[assignment]
    names = ", ".join(columns)
    with pytest.raises(BackendError) as err:
        async with backend.owner() as conn:
            await conn.execute(
                f"insert into public.pipeline_businesses ({names})"
                f" values ({', '.join(['%s'] * len(columns))})",
                list(columns.values()),
            )
    assert err.value.code == "23514" and domain in err.value.message
    with pytest.raises(BackendError) as err:
        async with backend.owner() as conn:
            await conn.execute(
                f"update public.pipeline_businesses set {column} = %s where id = %s",
                [value, business_id],
            )
    assert err.value.code == "23514" and domain in err.value.message
    async with backend.owner() as conn:
        cur = await conn.execute(
            "select count(*) as n, min(status) as status from public.pipeline_businesses"
        )
        assert await cur.fetchone() == {"n": 1, "status": "queued"}


async def _claim_on(conn: Any) -> dict[str, Any] | None:
    """One claim as the data layer makes it, on this very connection (its hint is per
    connection)."""
    async with conn.transaction():
        await conn.execute("select set_config('role', 'service_role', true)")
        cur = await conn.execute("select id, attempts from public.claim_next_business('w')")
        row: dict[str, Any] | None = await cur.fetchone()
        return row


async def test_a_connection_claiming_again_within_a_second_continues_after_its_last_claim(
    backend: PostgresBackend,
) -> None:
    first, second, third = await add_businesses(backend, 3)
    async with backend.pool.connection() as conn:
        claimed = await _claim_on(conn)
        assert claimed is not None and claimed["id"] == first
        # the first row is queued again ahead of this connection's place in the queue
        async with backend.owner() as owner:
            await owner.execute(
                "update public.pipeline_businesses set status = 'queued', claim_token = null"
                " where id = %s",
                [first],
            )
        claimed = await _claim_on(conn)
        assert claimed is not None and claimed["id"] == second
        await asyncio.sleep(1.05)  # the next claim scans from the head again
        claimed = await _claim_on(conn)
        assert claimed is not None and claimed["id"] == first and claimed["attempts"] == 2
        claimed = await _claim_on(conn)
        assert claimed is not None and claimed["id"] == third
        assert await _claim_on(conn) is None
        await conn.execute("reset cliftonsites.claim_hint")


async def test_connections_continue_after_the_newest_claim_of_any_of_them(
    backend: PostgresBackend,
) -> None:
    first, second, third, fourth = await add_businesses(backend, 4)
    async with backend.pool.connection() as a, backend.pool.connection() as b:
        for conn in (a, b):
            await conn.execute("reset cliftonsites.claim_hint")
        assert (await _claim_on(a) or {}).get("id") == first  # from the head
        assert (await _claim_on(b) or {}).get("id") == second  # b has no clock: from the head
        assert (await _claim_on(b) or {}).get("id") == third  # after the newest claim
        async with backend.owner() as owner:
            await owner.execute(
                "update public.pipeline_businesses set status = 'queued', claim_token = null"
                " where id = %s",
                [second],
            )
        # a scanned from the head less than a second ago: it continues after the newest
        # claim (b's third), not after its own first, so the requeued second waits for
        # a's next scan from the head
        assert (await _claim_on(a) or {}).get("id") == fourth
        await asyncio.sleep(1.05)
        assert (await _claim_on(a) or {}).get("id") == second
        for conn in (a, b):
            await conn.execute("reset cliftonsites.claim_hint")


async def test_a_hint_or_frontier_that_is_not_ours_is_ignored(backend: PostgresBackend) -> None:
    [business_id] = await add_businesses(backend, 1)
    async with backend.pool.connection() as conn:
        now_ms = int(time.time() * 1000)
        cases = [
            ("garbage", business_id), ("-5", business_id), ("1", business_id),
            (str(10**17), business_id), (f"{now_ms}|0", business_id),
            (f"{business_id}|{now_ms}|0|0", business_id),  # 005400's format
            (str(now_ms), business_id),  # fresh, the frontier on this very row
            (str(now_ms), 10**15),  # fresh, the frontier on a row that is gone
        ]  # fmt: skip
        for hint, frontier in cases:
            await conn.execute("select set_config('cliftonsites.claim_hint', %s, false)", [hint])
            async with backend.owner() as owner:
                await owner.execute(
                    "select setval('public.pipeline_claim_frontier', %s)", [frontier]
                )
                await owner.execute(
                    "update public.pipeline_businesses set status = 'queued' where id = %s",
                    [business_id],
                )
            claimed = await _claim_on(conn)
            assert claimed is not None and claimed["id"] == business_id, (hint, frontier)
        await conn.execute("reset cliftonsites.claim_hint")
