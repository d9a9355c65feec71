"""The alert loop of one app process: every ALERT_CHECK_SECONDS it runs an evaluation
pass (skipped when another instance holds the lock), delivers due messages, and
publishes the firing alerts to the process's `HealthState`, which every page's
health bar follows. `cliftonsites alerts check` runs the same pass once, from cron.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from dashboard.alerts.delivery import Sender, default_senders, deliver_due
from dashboard.alerts.engine import PassReport, evaluate_once, wait_for_other_pass
from dashboard.backends.postgres import PostgresBackend
from dashboard.data import alerts as store
from dashboard.health.summary import ActiveAlert, HealthState
from dashboard.settings import Settings

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


async def check_once(
    db: PostgresBackend,
    settings: Settings,
    *,
    now: datetime | None = None,
    senders: dict[str, Sender] | None = None,
    wait: bool = False,
) -> tuple[PassReport, int, int]:
    """One evaluation pass and one delivery round: (report, sent, failed attempts).

    With `wait`, a pass that another instance holds is waited for, so that the delivery
    round sends what it wrote (the command line runs once; the loop comes round again).
    """
    now = now or system_clock()
    report = await evaluate_once(db, settings, now)
    if wait and not report.ran:
        await wait_for_other_pass(db)
        now = max(now, system_clock())
    sent, failed = await deliver_due(db, senders or default_senders(settings), now)
    return report, sent, failed


async def publish_health(db: PostgresBackend, state: HealthState) -> None:
    firing = await store.firing_alerts(db)
    rules = {rule.kind: rule for rule in await store.list_rules(db)}
    queue = rules.get("queue_oldest")
    limit = queue.threshold * 3600 if queue is not None and queue.enabled else float("inf")
    state.publish(
        [ActiveAlert(a.id, a.kind, a.title, a.fired_at or a.condition_since) for a in firing],
        limit,
    )


class AlertLoop:
    def __init__(
        self,
        db: PostgresBackend,
        settings: Settings,
        state: HealthState,
        *,
        clock: Clock = system_clock,
        senders: dict[str, Sender] | None = None,
    ) -> None:
        self.db, self.settings, self.state, self.clock = db, settings, state, clock
        self.senders = senders or default_senders(settings)
        self.passes = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="alert-loop")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run_once(self) -> None:
        await check_once(self.db, self.settings, now=self.clock(), senders=self.senders)
        await publish_health(self.db, self.state)
        self.passes += 1

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database may be away for a moment: try again
                log.warning("alert pass failed, trying again: %s: %s", type(exc).__name__, exc)
            await asyncio.sleep(self.settings.alert_check_seconds)
