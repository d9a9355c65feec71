"""One process's loop in one worker: desired state, commands, runs, pace and heartbeats.

Every worker of a process obeys `automation_status.desired_state`, which
`send_automation_command` sets; the one worker that claims the command only
completes it (and does the one-off work of `run_once` and `reset_stale`). A NOTIFY
wakes the loop at once, and each heartbeat re-reads the desired state as a fallback.

A run is a stretch of work of at most `batch_size` items: opened when the first item
is claimed, closed `succeeded` when the batch is full or the queue is empty, and
`cancelled` when a pause, stop or shutdown interrupts it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import psycopg

from dashboard.backends.base import BackendError
from dashboard.data import automation
from dashboard.data.models import (
    AutomationCommand,
    AutomationConfig,
    DesiredState,
    Process,
    RunTrigger,
    WorkerState,
)
from dashboard.data.queue import reset_stale_started_businesses
from dashboard.worker.context import WorkerContext

Outcome = Literal["done", "failed", "lost", "empty"]
Step = Callable[["ProcessLoop", AutomationConfig], Awaitable[Outcome]]
log = logging.getLogger("dashboard.worker")
TRANSIENT = (BackendError, psycopg.Error, OSError)
#: How long a stopping worker tries to close its run and report `offline`.
SHUTDOWN_REPORT_SECONDS = 5.0


@dataclass
class Run:
    id: int
    processed: int = 0
    failed: int = 0

    @property
    def items(self) -> int:
        return self.processed + self.failed


def enabled(config: AutomationConfig, process: Process) -> bool:
    if process == "identification":
        return config.identification_enabled
    return config.implementation_enabled


class ProcessLoop:
    def __init__(self, ctx: WorkerContext, process: Process, step: Step) -> None:
        self.ctx = ctx
        self.process: Process = process
        self.step = step
        self.notified = asyncio.Event()
        self.desired: DesiredState = "running"
        self.state: WorkerState = "idle"
        self.message: str | None = "starting"
        self.run: Run | None = None
        self.current_business_id: int | None = None
        self.current_target_id: int | None = None
        #: Why the last step found no work (shown as the heartbeat message).
        self.note: str | None = None
        self._trigger: tuple[RunTrigger, int | None] = ("schedule", None)
        self._deltas = [0, 0]

    # -- state -----------------------------------------------------------------
    def wake(self) -> None:
        self.notified.set()

    async def heartbeat(self) -> None:
        """Report this worker's state and pick up the process's desired state."""
        processed, errors = self._deltas
        self._deltas = [0, 0]
        # '' clears the row's message; null would keep an old one ("starting", "disabled")
        row = await automation.report_automation_heartbeat(
            self.ctx.api, self.process, self.ctx.worker_id, self.state, self.message or "",
            self.current_business_id, self.current_target_id, processed, errors,
        )  # fmt: skip
        self._apply_desired(row.desired_state)

    def _apply_desired(self, desired: DesiredState) -> None:
        if desired == self.desired:
            return
        if desired == "running":
            self.ctx.health.reset(self.process)  # a resume gives providers a fresh chance
        self.desired = desired
        self.notified.set()

    async def set_state(self, state: WorkerState, message: str | None = None) -> None:
        if (state, message) != (self.state, self.message):
            self.state, self.message = state, message
            await self.heartbeat()

    # -- runs ------------------------------------------------------------------
    async def open_run(self) -> Run:
        """The open run, or a new one (called by a step once it has an item)."""
        if self.run is None:
            trigger, command_id = self._trigger
            run_id = await automation.start_automation_run(
                self.ctx.api, self.process, self.ctx.worker_id, trigger, command_id
            )
            self.run = Run(run_id)
        return self.run

    def record(self, ok: bool) -> None:
        run = self.run
        if run is not None:
            run.processed += ok
            run.failed += not ok
        self._deltas[0 if ok else 1] += 1

    async def close_run(self, status: Literal["succeeded", "failed", "cancelled"]) -> Run | None:
        run, self.run = self.run, None
        if run is None:
            return None
        try:
            await automation.finish_automation_run(
                self.ctx.api, run.id, status, run.processed, run.failed
            )
        except BackendError as exc:
            log.warning("could not close run %s: %s", run.id, exc)
        return run

    # -- the loop --------------------------------------------------------------
    async def serve(self, stop: asyncio.Event) -> None:
        try:
            await self.heartbeat()
            while not stop.is_set():
                wait = await self._turn(stop)
                await self.sleep(wait, stop)
        finally:
            # A database that is gone must not hold the process: report what we can, then go.
            try:
                await asyncio.wait_for(self.shutdown(), SHUTDOWN_REPORT_SECONDS)
            except (TimeoutError, *TRANSIENT) as exc:
                log.warning("%s: could not report the shutdown: %r", self.process, exc)

    async def _turn(self, stop: asyncio.Event) -> float:
        """Apply what was notified, then do one tick; a database outage is waited out."""
        try:
            if self.notified.is_set():
                self.notified.clear()
                await self.take_commands(stop)
                await self.heartbeat()
            return 0.0 if stop.is_set() else await self.tick()
        except TRANSIENT as exc:
            log.error("%s: database error, retrying: %s", self.process, exc)
            self.state, self.message = "error", f"database error: {exc}"[:500]
            return self.ctx.options.empty_wait_seconds

    async def tick(self) -> float:
        """Do one item (or settle into paused / idle); return how long to wait next."""
        options = self.ctx.options
        if self.desired != "running":
            await self.close_run("cancelled")
            paused = self.desired == "paused"
            await self.set_state("paused" if paused else "idle", None if paused else "stopped")
            return options.empty_wait_seconds
        config = await automation.get_automation_config(self.ctx.api)
        if not enabled(config, self.process):
            await self.close_run("succeeded")
            await self.set_state("idle", f"{self.process} is disabled in the config")
            return options.empty_wait_seconds
        outcome = await self.step(self, config)
        if outcome == "empty":
            await self.close_run("succeeded")
            await self.set_state("running", self.note or "waiting for work")
            return options.empty_wait_seconds
        await self.set_state("running", None)
        if self.run is not None and self.run.items >= config.batch_size:
            await self.close_run("succeeded")
        return pace(config, options.pace_seconds)

    async def sleep(self, seconds: float, stop: asyncio.Event) -> None:
        """Wait `seconds`, or less when a command arrives or the worker stops."""
        if seconds <= 0 and not self.notified.is_set():
            await asyncio.sleep(0)
            return
        waiters = [asyncio.ensure_future(self.notified.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def shutdown(self) -> None:
        self.state, self.message = "stopping", "shutting down"
        run = await self.close_run("cancelled")
        if run is not None:
            await self.ctx.log(
                self.process, "info",
                f"run {run.id} cancelled by shutdown: {run.processed} done, {run.failed} failed",
                run_id=run.id,
            )  # fmt: skip
        self.state, self.message = "offline", None
        try:
            await self.heartbeat()
        except TRANSIENT as exc:
            log.warning("could not report offline: %s", exc)

    # -- commands --------------------------------------------------------------
    async def take_commands(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            command = await automation.claim_next_command(
                self.ctx.api, self.process, self.ctx.worker_id
            )
            if command is None:
                return
            await self.apply_command(command, stop)

    async def apply_command(self, command: AutomationCommand, stop: asyncio.Event) -> None:
        try:
            result = await self._execute(command, stop)
            status: Literal["completed", "failed"] = "completed"
        except (BackendError, CommandRefused) as exc:
            result, status = {"error": str(exc)}, "failed"
        who = command.requested_by or "unknown"
        level: Literal["info", "warning"] = "info" if status == "completed" else "warning"
        await self.ctx.log(
            self.process, level, f"command {command.command} from {who}: {status}",
            metadata={"command_id": command.id, "result": result},
        )  # fmt: skip
        try:
            await automation.complete_automation_command(self.ctx.api, command.id, status, result)
        except BackendError as exc:  # expired or closed meanwhile: nothing left to do
            log.warning("command %s could not be completed: %s", command.id, exc)

    async def _execute(self, command: AutomationCommand, stop: asyncio.Event) -> dict[str, Any]:
        if command.command in ("start", "stop", "pause", "resume"):
            await self.heartbeat()  # desired_state is already set by send_automation_command
            return {"desired_state": self.desired, "worker_id": self.ctx.worker_id}
        if command.command == "reset_stale":
            minutes = command.payload.get("stale_after_minutes")
            if minutes is not None and not isinstance(minutes, int):
                raise CommandRefused("payload stale_after_minutes must be a whole number")
            count = await reset_stale_started_businesses(self.ctx.api, minutes)
            return {"reset": count}
        return await self.run_batch(command, stop)

    async def run_batch(self, command: AutomationCommand, stop: asyncio.Event) -> dict[str, Any]:
        """`run_once`: one batch now, whatever the desired state, then back to it."""
        config = await automation.get_automation_config(self.ctx.api)
        if not enabled(config, self.process):
            raise CommandRefused(f"{self.process} is disabled in the config; enable it first")
        await self.close_run("succeeded")
        self._trigger = ("command", command.id)
        previous = (self.state, self.message)
        await self.set_state("running", "run_once")
        try:
            for _ in range(config.batch_size):
                if stop.is_set() or await self.step(self, config) == "empty":
                    break
            run = await self.close_run("succeeded")
        finally:
            self._trigger = ("schedule", None)
            await self.set_state(*previous)
        return {
            "items_processed": run.processed if run else 0,
            "items_failed": run.failed if run else 0,
        }


class CommandRefused(RuntimeError):
    """A command that cannot be applied as asked; it is completed as `failed`."""


def pace(config: AutomationConfig, fallback: float) -> float:
    """Seconds between items: the config's `pace_seconds` when set, else the worker's own."""
    return float(config.pace_seconds) if config.pace_seconds > 0 else fallback
