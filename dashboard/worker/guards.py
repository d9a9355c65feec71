"""Budget and health guards: the worker pauses a process by itself, says why, and
resumes it when the reason is gone.

A guard pause is an ordinary audited command: `send_automation_command(process,
'pause', {"guard", "reason"}, requested_by='worker:guard')`, so every worker of the
process obeys it and the dashboard shows the reason. Guards never override a human:
they resume a process only when the latest start/stop/pause/resume of that process
is their own pause.

- `daily_limit`: sites deployed today (UTC) reach `daily_deploy_limit`. Pauses
  implementation; resumes when the UTC day turns or the limit is raised.
- `bounce_rate`: bounced / contacted outreach over the last 7 days exceeds
  `bounce_rate_limit` (with at least 20 contacted). Pauses implementation (no new
  sites, so no new outreach); resumes when the rate is back at or under the limit
  (old bounces age out of the window, or the limit is raised).
- `provider`: one provider failed `provider_failure_limit` times in a row. Pauses
  the process that uses it; resumes after a cool-down (5 minutes by default), so
  the provider is tried again (and trips the guard again if it still fails).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from dashboard.backends.base import SERVICE
from dashboard.data import automation
from dashboard.data.models import AutomationConfig, Process
from dashboard.worker.context import WorkerContext
from dashboard.worker.store import (
    bounce_counts,
    count_deployed_today,
    last_state_command,
)

GUARD_BY = "worker:guard"
BOUNCE_WINDOW_DAYS = 7
BOUNCE_MIN_SAMPLE = 20


@dataclass(frozen=True)
class Trip:
    guard: str
    reason: str


class Guards:
    def __init__(self, ctx: WorkerContext, processes: tuple[Process, ...]) -> None:
        self.ctx = ctx
        self.processes = processes

    async def check(self) -> list[str]:
        """Evaluate every guard of this worker's processes; pause or resume; say what was done."""
        api = self.ctx.api
        config = await automation.get_automation_config(api)
        statuses = {row.process: row for row in await automation.get_automation_status(api)}
        actions: list[str] = []
        for process in self.processes:
            status = statuses.get(process)
            if status is None:
                continue
            if status.desired_state == "running":
                trip = await self.evaluate(process, config)
                if trip is not None:
                    await self.pause(process, trip)
                    actions.append(f"paused {process}: {trip.guard}")
            elif status.desired_state == "paused" and await self.maybe_resume(process, config):
                actions.append(f"resumed {process}")
        return actions

    async def evaluate(self, process: Process, config: AutomationConfig) -> Trip | None:
        worst = self.ctx.health.worst(process)
        if worst is not None and worst[1] >= config.provider_failure_limit:
            return Trip("provider", f"{worst[0]} failed {worst[1]} times in a row")
        if process != "implementation":
            return None
        return await self._daily_limit(config) or await self._bounce_rate(config)

    async def _daily_limit(self, config: AutomationConfig) -> Trip | None:
        deployed = await count_deployed_today(self.ctx.api)
        if deployed >= config.daily_deploy_limit:
            return Trip(
                "daily_limit",
                f"daily deploy limit reached: {deployed} of {config.daily_deploy_limit} sites"
                " deployed today (UTC); resumes at midnight UTC or when the limit is raised",
            )
        return None

    async def _bounce_rate(self, config: AutomationConfig) -> Trip | None:
        bounced, contacted = await bounce_counts(self.ctx.api, BOUNCE_WINDOW_DAYS)
        limit = float(config.bounce_rate_limit)
        if contacted >= BOUNCE_MIN_SAMPLE and bounced / contacted > limit:
            return Trip(
                "bounce_rate",
                f"outreach bounce rate {bounced / contacted:.0%} ({bounced} of {contacted} in"
                f" {BOUNCE_WINDOW_DAYS} days) is over the limit of {limit:.0%}",
            )
        return None

    async def pause(self, process: Process, trip: Trip) -> None:
        payload = {"guard": trip.guard, "reason": trip.reason}
        await automation.send_automation_command(
            self.ctx.api, process, "pause", payload, GUARD_BY, caller=SERVICE
        )
        await self.ctx.log(process, "warning", f"paused by the {trip.guard} guard: {trip.reason}",
                           metadata=payload)  # fmt: skip

    async def maybe_resume(self, process: Process, config: AutomationConfig) -> bool:
        last = await last_state_command(self.ctx.api, process)
        if last is None or last.command != "pause" or last.requested_by != GUARD_BY:
            return False  # paused by a person: only a person resumes it
        guard = str(last.payload.get("guard", ""))
        if guard == "provider":
            waited = (datetime.now(UTC) - last.created_at).total_seconds()
            cleared = waited >= self.ctx.options.provider_cooldown_seconds
        elif guard == "daily_limit":
            cleared = await self._daily_limit(config) is None
        elif guard == "bounce_rate":
            cleared = await self._bounce_rate(config) is None
        else:
            cleared = False
        if not cleared:
            return False
        self.ctx.health.reset(process)
        await automation.send_automation_command(
            self.ctx.api, process, "resume", {"guard": guard}, GUARD_BY, caller=SERVICE
        )
        await self.ctx.log(process, "info", f"resumed by the {guard} guard: the condition cleared",
                           metadata={"guard": guard})  # fmt: skip
        return True
