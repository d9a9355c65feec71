"""The health tasks one app process runs: the staleness clock and the alert loop.

The app's lifespan calls `start_health_tasks(runtime)` after the live bus is up and
`stop()` on shutdown. Both are once per process; the alert loop is also exactly once
across instances (see dashboard/alerts/engine.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dashboard.alerts.loop import AlertLoop
from dashboard.health.staleness import StalenessClock
from dashboard.health.summary import get_health_state
from dashboard.runtime import Runtime


@dataclass
class HealthTasks:
    clock: StalenessClock | None = None
    others: list[Any] = field(default_factory=list)

    async def stop(self) -> None:
        for task in self.others:
            await task.stop()
        if self.clock is not None:
            await self.clock.stop()


async def start_health_tasks(runtime: Runtime) -> HealthTasks:
    tasks = HealthTasks()
    if not runtime.settings.health_tasks:
        return tasks
    bus = runtime.services.get("live")
    if bus is not None:
        tasks.clock = StalenessClock(bus)
        tasks.clock.start()
        runtime.services["staleness_clock"] = tasks.clock
    loop = AlertLoop(runtime.db, runtime.settings, get_health_state(runtime.services))
    loop.start()
    runtime.services["alert_loop"] = loop
    tasks.others.append(loop)
    return tasks
