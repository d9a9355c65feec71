"""The two background tasks that make sure every deployed business gets its outreach.

- The **listener** (`LISTEN outreach_start`) starts a campaign as soon as trigger
  `outreach_on_deployed` notifies; it reconnects with backoff after a lost connection.
- The **sweeper** starts any deployed, unclaimed business whose outreach is still
  `pending` (or `failed`, up to `MAX_START_ATTEMPTS`) once it is older than
  `automation_config.outreach_sweep_minutes`; it covers dropped notifications, pg_net
  failures and downtime.

Both go through `start_campaign`, whose atomic `starting` gate means the two paths,
and any number of app instances, never start one business twice. The app lifespan
runs one of each per process (`OutreachTasks`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import psycopg

from dashboard.backends.base import Backend, Filter, Order
from dashboard.backoff import Backoff, pause
from dashboard.data.automation import get_automation_config
from dashboard.outreach.base import OutreachProvider
from dashboard.outreach.campaign import StartResult, start_campaign

if TYPE_CHECKING:
    from dashboard.runtime import Runtime

log = logging.getLogger(__name__)
CHANNEL = "outreach_start"
MAX_START_ATTEMPTS = 3
SWEEP_BATCH = 200


async def due_for_outreach(api: Backend, *, now: datetime | None = None) -> list[int]:
    """Ids of businesses the sweeper should start now, oldest first."""
    config = await get_automation_config(api)
    if not config.outreach_enabled:
        return []
    since = timedelta(minutes=config.outreach_sweep_minutes)
    cutoff = ((now or datetime.now(UTC)) - since).isoformat()
    common = [Filter("site_status", "eq", "deployed"), Filter("claimed", "is", False)]
    pending = await api.select(
        "qualified_businesses",
        columns="id",
        filters=[*common, Filter("outreach_status", "eq", "pending"),
                 Filter("deployed_at", "lt", cutoff)],
        order=[Order("deployed_at")],
        limit=SWEEP_BATCH,
    )  # fmt: skip
    failed = await api.select(
        "qualified_businesses",
        columns="id",
        filters=[*common, Filter("outreach_status", "eq", "failed"),
                 Filter("outreach_attempts", "lt", MAX_START_ATTEMPTS),
                 Filter("updated_at", "lt", cutoff)],
        order=[Order("updated_at")],
        limit=SWEEP_BATCH,
    )  # fmt: skip
    return [int(r["id"]) for r in pending.rows + failed.rows]


async def sweep_once(
    api: Backend,
    provider: OutreachProvider,
    *,
    now: datetime | None = None,
    concurrency: int = 4,
) -> list[StartResult]:
    """One pass of the sweeper: start every due business (at most two batches)."""
    ids = await due_for_outreach(api, now=now)
    gate = asyncio.Semaphore(concurrency)

    async def start(business_id: int) -> StartResult:
        async with gate:
            return await start_campaign(api, provider, business_id, source="sweeper")

    return list(await asyncio.gather(*(start(i) for i in ids)))


async def run_sweeper(
    api: Backend, get_provider: Callable[[], OutreachProvider], *, interval: float = 20.0
) -> None:
    """Sweep forever; a full batch is followed at once by another pass."""
    while True:
        try:
            results = await sweep_once(api, get_provider())
        except Exception:  # keep sweeping: the next pass retries whatever failed
            log.exception("outreach sweep failed")
            results = []
        if len(results) < SWEEP_BATCH:
            await asyncio.sleep(interval)


async def run_listener(
    database_url: str, api: Backend, get_provider: Callable[[], OutreachProvider]
) -> None:
    """LISTEN on `outreach_start` and start each notified business; reconnect forever."""
    backoff = Backoff(1.0, 60.0)  # 1 s doubling to 60 s, from 1 s again once listening
    tasks: set[asyncio.Task[StartResult | None]] = set()
    while True:
        lost: psycopg.Error | None = None
        try:
            async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
                await conn.execute(f"listen {CHANNEL}")
                backoff.reset()
                async for note in conn.notifies():
                    task = asyncio.create_task(_start_notified(api, get_provider(), note.payload))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
        except psycopg.Error as exc:
            lost = exc
        delay = backoff.failed()
        if lost is not None:
            log.warning(
                "outreach listener lost its connection (%s); retrying in %.0fs", lost, delay
            )
        await pause(delay)


async def _start_notified(
    api: Backend, provider: OutreachProvider, payload: str
) -> StartResult | None:
    try:
        business_id = int(json.loads(payload)["qualified_business_id"])
    except (ValueError, KeyError, TypeError):
        log.warning("ignored a malformed %s notification: %r", CHANNEL, payload[:200])
        return None
    try:
        return await start_campaign(api, provider, business_id, source="trigger")
    except Exception:  # the sweeper retries it; the listener must keep listening
        log.exception("starting outreach for business %s failed", business_id)
        return None


class OutreachTasks:
    """One listener and one sweeper per process, started and stopped by the app lifespan."""

    def __init__(
        self, database_url: str, api: Backend, get_provider: Callable[[], OutreachProvider]
    ) -> None:
        self._args = (database_url, api, get_provider)
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        database_url, api, get_provider = self._args
        self._tasks = [
            asyncio.create_task(run_listener(database_url, api, get_provider), name="listener"),
            asyncio.create_task(run_sweeper(api, get_provider), name="sweeper"),
        ]  # fmt: skip

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []


def start_outreach_tasks(runtime: Runtime) -> OutreachTasks:
    """Start this process's listener and sweeper (called from the app lifespan)."""
    from dashboard.outreach import get_provider

    tasks = OutreachTasks(runtime.database_url, runtime.api, lambda: get_provider(runtime))
    tasks.start()
    return tasks
