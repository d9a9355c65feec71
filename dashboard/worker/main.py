"""The worker: one `ProcessLoop` per process, plus the command listener, heartbeats,
the stale-claim reset and the guards, until SIGTERM / SIGINT (or, with `--once`,
until the work runs out).

On SIGTERM each loop finishes its current item (waiting up to `grace_seconds`, then
releasing it), closes its run as `cancelled` and reports `offline`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, get_args

import click

from dashboard.data.automation import get_automation_config
from dashboard.data.models import Process
from dashboard.data.queue import reset_stale_started_businesses
from dashboard.worker.context import WorkerContext
from dashboard.worker.guards import Guards
from dashboard.worker.identification import IdentificationStep, Leadership
from dashboard.worker.implementation import implementation_step
from dashboard.worker.listener import CommandListener
from dashboard.worker.loop import TRANSIENT, ProcessLoop, enabled, pace
from dashboard.worker.store import count_queued, count_targets_left

log = logging.getLogger("dashboard.worker")
ORDER: tuple[Process, ...] = get_args(Process)  # identification first: it feeds the queue


class Worker:
    def __init__(
        self, ctx: WorkerContext, processes: tuple[Process, ...], database_url: str
    ) -> None:
        self.ctx = ctx
        self.processes = tuple(p for p in ORDER if p in processes)
        self.database_url = database_url
        self.stop = asyncio.Event()
        self.leadership = Leadership(database_url) if "identification" in processes else None
        self.loops: dict[Process, ProcessLoop] = {}
        for process in self.processes:
            if process == "identification":
                step: Any = IdentificationStep(self.leadership)
            else:
                step = implementation_step
            self.loops[process] = ProcessLoop(ctx, process, step)
        self.listener = CommandListener(database_url, self._wake)
        self.guards = Guards(ctx, self.processes)

    def _wake(self, process: str | None) -> None:
        for name, loop in self.loops.items():
            if process is None or process == name:
                loop.wake()

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop.set)

    async def run_forever(self) -> None:
        """Serve commands and work until stopped."""
        background: list[asyncio.Task[Any]] = [
            asyncio.create_task(self.listener.run(self.stop)),
            asyncio.create_task(self._every(self.ctx.options.heartbeat_seconds, self._heartbeats)),
            asyncio.create_task(self._every(self.ctx.options.guard_seconds, self._guard)),
        ]
        if "implementation" in self.loops:
            every = self.ctx.options.stale_reset_seconds
            background.append(asyncio.create_task(self._every(every, self._reset_stale)))
        serving = [asyncio.create_task(loop.serve(self.stop)) for loop in self.loops.values()]
        stopper: asyncio.Task[Any] = asyncio.create_task(self.stop.wait())
        try:
            await asyncio.wait([*serving, stopper], return_when=asyncio.FIRST_COMPLETED)
            self.stop.set()
            _, late = await asyncio.wait(serving, timeout=self.ctx.options.grace_seconds)
            for task in late:
                task.cancel()
            results = await asyncio.gather(*serving, return_exceptions=True)
        finally:
            for task in [*background, stopper]:
                task.cancel()
            await asyncio.gather(*background, stopper, return_exceptions=True)
            if self.leadership is not None:
                await self.leadership.release()
        for result in results:
            if isinstance(result, Exception):
                raise result

    async def _every(self, seconds: float, job: Callable[[], Awaitable[None]]) -> None:
        while not self.stop.is_set():
            try:
                await job()
            except TRANSIENT as exc:
                log.warning("%s failed: %s", getattr(job, "__name__", "job"), exc)
            with suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), timeout=seconds)

    async def _heartbeats(self) -> None:
        for loop in self.loops.values():
            await loop.heartbeat()

    async def _guard(self) -> None:
        for action in await self.guards.check():
            log.info("guard: %s", action)

    async def _reset_stale(self) -> None:
        count = await reset_stale_started_businesses(self.ctx.api)
        if count:
            await self.ctx.log(
                "implementation", "warning",
                f"requeued {count} stale claim(s) of workers that stopped answering",
                metadata={"reset": count},
            )  # fmt: skip

    # -- --once ------------------------------------------------------------------
    async def run_once(self, show_progress: bool) -> dict[str, tuple[int, int]]:
        """Work each process until it runs out of work; (done, failed) per process."""
        totals: dict[str, tuple[int, int]] = {}
        try:
            for process, loop in self.loops.items():
                if self.stop.is_set():
                    break
                totals[process] = await self._drain(loop, show_progress)
        finally:
            for loop in self.loops.values():
                await loop.shutdown()
            if self.leadership is not None:
                await self.leadership.release()
        return totals

    async def _drain(self, loop: ProcessLoop, show_progress: bool) -> tuple[int, int]:
        await loop.heartbeat()
        config = await get_automation_config(self.ctx.api)
        if loop.desired != "running" or not enabled(config, loop.process):
            why = f"{loop.desired}" if loop.desired != "running" else "disabled in the config"
            click.echo(f"{loop.process}: skipped ({why})", err=True)
            return (0, 0)
        api = self.ctx.api
        total = await (
            count_targets_left(api) if loop.process == "identification" else count_queued(api)
        )
        done = failed = 0
        loop._trigger = ("manual", None)
        await loop.set_state("running", "--once")
        with progress(total, f"{loop.process:<15}", show_progress) as bar:
            while (
                not self.stop.is_set()
                and loop.desired == "running"
                and enabled(config, loop.process)
            ):
                outcome = await loop.step(loop, config)
                if outcome == "empty" or self._provider_down(loop, config.provider_failure_limit):
                    break
                done, failed = done + (outcome == "done"), failed + (outcome != "done")
                bar(1)
                if loop.run is not None and loop.run.items >= config.batch_size:
                    await loop.close_run("succeeded")
                config = await get_automation_config(api)
                await loop.sleep(pace(config, self.ctx.options.pace_seconds), self.stop)
                if loop.notified.is_set():
                    loop.notified.clear()
                    await loop.heartbeat()
        await loop.close_run("cancelled" if self.stop.is_set() else "succeeded")
        return (done, failed)

    def _provider_down(self, loop: ProcessLoop, limit: int) -> bool:
        worst = self.ctx.health.worst(loop.process)
        if worst is not None and worst[1] >= limit:
            click.echo(
                f"{loop.process}: stopped, {worst[0]} failed {worst[1]} times in a row", err=True
            )
            return True
        return False


@contextmanager
def progress(total: int, label: str, show: bool) -> Iterator[Callable[[int], None]]:
    """A click progress bar on a terminal; nothing at all otherwise."""
    if not show:
        yield lambda _n: None
        return
    with click.progressbar(length=max(total, 1), label=label, show_pos=True) as bar:
        yield bar.update
