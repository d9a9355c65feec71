"""Identification and implementation steps end to end on a real database."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from dashboard.backends.base import Backend
from dashboard.backends.postgres import PostgresBackend
from dashboard.data.automation import get_automation_config
from dashboard.data.models import IdentificationTarget, PipelineBusiness
from dashboard.data.queue import claim_next_business, reset_stale_started_businesses
from dashboard.worker.finders import DemoFinder
from dashboard.worker.identification import IdentificationStep, Leadership
from dashboard.worker.implementation import implementation_step
from dashboard.worker.loop import ProcessLoop, Run
from dashboard.worker.ports import BuiltSite
from dashboard.worker.sites import JinjaSiteBuilder
from tests.dbutil import sql
from tests.factories import seed_queued, seed_targets
from tests.worker_support import make_ctx


async def test_identification_of_a_target_inserts_only_unknown_businesses_and_advances(
    backend: PostgresBackend, db_url: str
) -> None:
    seed_targets(db_url, ("Clifton", "NJ", "bakery"), ("Passaic", "NJ", "bakery"))
    target = IdentificationTarget.model_validate(
        sql(db_url, "select * from public.identification_targets where position = 1")[0]
    )
    found = await DemoFinder().find(target)
    without_site = [b for b in found if not b.website]
    known = without_site[:2]
    for b in known:
        sql(db_url,
            "insert into public.pipeline_businesses (place_id, name, category, city, region)"
            " values (%s, 'Known already', 'bakery', 'Clifton', 'NJ')", (b.place_id,))  # fmt: skip
    ctx = make_ctx(backend)
    loop = ProcessLoop(ctx, "identification", IdentificationStep(Leadership(db_url)))
    assert await loop.step(loop, await get_automation_config(backend)) == "done"
    await loop.close_run("succeeded")

    rows = sql(db_url, "select place_id, name, target_id, status from public.pipeline_businesses")
    by_id = {r["place_id"]: r for r in rows}
    assert len(rows) == len(without_site)  # no business with a website was queued
    assert all(by_id[b.place_id]["name"] == "Known already" for b in known)
    fresh = [by_id[b.place_id] for b in without_site[2:]]
    assert all(r["status"] == "queued" and r["target_id"] == target.id for r in fresh)
    targets = sql(db_url, "select position, status, businesses_found"
                  " from public.identification_targets order by position")  # fmt: skip
    assert targets[0] == {"position": 1, "status": "done", "businesses_found": len(fresh)}
    assert targets[1]["status"] == "in_progress"
    log = sql(db_url, "select run_id, metadata from public.automation_logs"
              " where process = 'identification' and level = 'info'")  # fmt: skip
    assert log[0]["run_id"] is not None
    assert log[0]["metadata"]["queued"] == len(fresh)
    assert log[0]["metadata"]["known"] == 2
    run = sql(db_url, "select status, items_processed from public.automation_runs")[0]
    assert run == {"status": "succeeded", "items_processed": 1}
    await loop.step(loop, await get_automation_config(backend))
    assert (
        await loop.step(loop, await get_automation_config(backend)) == "empty"
    )  # the grid is finished
    await loop.close_run("succeeded")


async def test_only_one_worker_walks_the_identification_grid(db_url: str) -> None:
    first, second = Leadership(db_url), Leadership(db_url)
    assert await first.acquire()
    assert not await second.acquire()
    await first.release()
    assert await second.acquire()
    await second.release()


async def test_implementation_deploys_a_claimed_business_and_writes_its_site(
    backend: PostgresBackend, db_url: str
) -> None:
    seed_queued(db_url, 1)
    loop = ProcessLoop(make_ctx(backend), "implementation", implementation_step)
    assert await loop.step(loop, await get_automation_config(backend)) == "done"
    row = sql(db_url, "select q.uuid, q.preview_url, p.status from public.qualified_businesses q"
              " join public.pipeline_businesses p on p.id = q.pipeline_business_id")[0]  # fmt: skip
    assert row["status"] == "deployed"
    assert row["preview_url"] == f"http://sites.test/sites/{row['uuid']}/"
    files = sql(db_url, "select name from admin_private.site_files where uuid = %s order by 1",
                (row["uuid"],))  # fmt: skip
    assert [f["name"] for f in files] == ["index.html", "site.css"]
    assert loop.run is not None
    lines = sql(db_url, "select run_id, metadata->>'worker_id' as worker"
                " from public.automation_logs where message like 'deployed %'")  # fmt: skip
    assert lines == [{"run_id": loop.run.id, "worker": loop.ctx.worker_id}]
    await loop.close_run("succeeded")


async def test_a_step_cancelled_mid_build_hands_the_business_back_uncounted(
    backend: PostgresBackend, db_url: str
) -> None:
    seed_queued(db_url, 1)
    sql(db_url, "update public.automation_config set max_attempts = 1")  # the last attempt
    ctx = make_ctx(backend, builder=JinjaSiteBuilder(delay_seconds=30))
    loop = ProcessLoop(ctx, "implementation", implementation_step)
    step = asyncio.create_task(loop.step(loop, await get_automation_config(backend)))
    claimed = "select attempts from public.pipeline_businesses where status = 'started'"
    for _ in range(200):  # until the business is claimed and the worker holds it
        await asyncio.sleep(0.05)
        # the row says 'started' as soon as the claim commits, which can be before the
        # worker has read the claim's answer; current_business_id is set once it has
        if sql(db_url, claimed) and loop.current_business_id is not None:
            break
    assert sql(db_url, claimed) == [{"attempts": 1}] and not step.done()
    step.cancel()  # what a stop past the grace period does
    with pytest.raises(asyncio.CancelledError):
        await step
    row = sql(db_url, "select status, attempts, last_error from public.pipeline_businesses")[0]
    assert row == {"status": "queued", "attempts": 0, "last_error": None}
    assert sql(db_url, "select uuid from admin_private.site_files") == []
    await loop.close_run("cancelled")


async def stop_once_claimed(loop: ProcessLoop, backend: PostgresBackend, db_url: str) -> None:
    """Run one step, cancel it as soon as its claim has committed, and see it end."""
    step = asyncio.create_task(loop.step(loop, await get_automation_config(backend)))
    claimed = "select attempts from public.pipeline_businesses where status = 'started'"
    for _ in range(200):
        await asyncio.sleep(0.05)
        if sql(db_url, claimed):
            break
    assert sql(db_url, claimed) == [{"attempts": 1}] and not step.done()
    step.cancel()
    with pytest.raises(asyncio.CancelledError):
        await step


class SlowToOpenItsRun(ProcessLoop):
    """A loop whose run takes long to open: a stop lands between claim and build."""

    async def open_run(self) -> Run:
        await asyncio.sleep(30)
        return await super().open_run()


async def test_a_stop_while_the_run_opens_hands_the_claimed_business_back(
    backend: PostgresBackend, db_url: str
) -> None:
    seed_queued(db_url, 1)
    loop = SlowToOpenItsRun(make_ctx(backend), "implementation", implementation_step)
    await stop_once_claimed(loop, backend, db_url)
    row = sql(db_url, "select status, attempts from public.pipeline_businesses")[0]
    assert row == {"status": "queued", "attempts": 0}


class SlowClaimAnswers:
    """The backend, but the answer to a claim arrives late: the claim has committed and
    the worker has not heard of it yet when the stop lands."""

    def __init__(self, backend: PostgresBackend) -> None:
        self.backend = backend

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)

    async def rpc(self, fn: str, *args: Any, **kwargs: Any) -> Any:
        answer = await self.backend.rpc(fn, *args, **kwargs)
        if fn == "claim_next_business":
            await asyncio.sleep(30)
        return answer


async def test_a_stop_while_the_claim_is_answered_hands_the_claimed_business_back(
    backend: PostgresBackend, db_url: str
) -> None:
    seed_queued(db_url, 1)
    ctx = make_ctx(backend)
    ctx.api = cast(Backend, SlowClaimAnswers(backend))
    loop = ProcessLoop(ctx, "implementation", implementation_step)
    await stop_once_claimed(loop, backend, db_url)
    row = sql(db_url, "select status, attempts from public.pipeline_businesses")[0]
    assert row == {"status": "queued", "attempts": 0}


async def test_a_failed_build_requeues_the_business_and_logs_why(
    backend: PostgresBackend, db_url: str
) -> None:
    seed_queued(db_url, 1)
    ctx = make_ctx(backend, builder=JinjaSiteBuilder(failure_rate=1.0))
    loop = ProcessLoop(ctx, "implementation", implementation_step)
    assert await loop.step(loop, await get_automation_config(backend)) == "failed"
    row = sql(db_url, "select status, attempts, last_error from public.pipeline_businesses")[0]
    assert row["status"] == "queued" and row["attempts"] == 1
    assert "simulated build failure" in row["last_error"]
    assert ctx.health.streaks["site_builder"] == 1
    assert sql(db_url, "select uuid from admin_private.site_files") == []
    assert sql(db_url, "select count(*) as n from public.automation_logs"
               " where level = 'warning' and business_id is not null")[0]["n"] == 1  # fmt: skip
    await loop.close_run("succeeded")


class StolenDuringBuild:
    """A builder so slow that the stale reset hands the business to another worker."""

    name = "site_builder"

    def __init__(self, backend: PostgresBackend, db_url: str) -> None:
        self.backend, self.db_url = backend, db_url
        self.inner = JinjaSiteBuilder()
        self.thief: PipelineBusiness | None = None

    async def build(self, business: PipelineBusiness, uuid: str) -> BuiltSite:
        sql(
            self.db_url,
            "update public.pipeline_businesses set started_at = now() - interval '1 hour'",
        )
        assert await reset_stale_started_businesses(self.backend, 15) == 1
        self.thief = await claim_next_business(self.backend, "other-worker")
        return await self.inner.build(business, uuid)


async def test_a_late_finish_after_losing_the_claim_changes_nothing(
    backend: PostgresBackend, db_url: str
) -> None:
    seed_queued(db_url, 1)
    builder = StolenDuringBuild(backend, db_url)
    loop = ProcessLoop(make_ctx(backend, builder=builder), "implementation",
                       implementation_step)  # fmt: skip
    assert await loop.step(loop, await get_automation_config(backend)) == "lost"
    row = sql(db_url, "select status, claimed_by, claim_token from public.pipeline_businesses")[0]
    assert row["status"] == "started" and row["claimed_by"] == "other-worker"
    assert builder.thief is not None and row["claim_token"] == builder.thief.claim_token
    assert sql(db_url, "select count(*) as n from public.qualified_businesses")[0]["n"] == 0
    assert (
        sql(db_url, "select uuid from admin_private.site_files") == []
    )  # our copy of the site was taken down
    assert sql(db_url, "select count(*) as n from public.automation_logs"
               " where message like '%claim lost%'")[0]["n"] == 1  # fmt: skip
    await loop.close_run("succeeded")
