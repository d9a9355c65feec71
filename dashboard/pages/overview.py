"""`/`: the live overview: queue, identification (with the target grid), automation
status with command buttons, config summary, latest runs, recent log lines, and the
charts.

The cards are drawn once per page and updated in place from the live bus's shared
snapshot (no query per browser, no element rebuilt: only html blocks whose content
changed are sent; see `dashboard/components/cards.py`). The charts stay off that
path: a page that saw a change is brought up to date `CHART_CHECK_SECONDS` later by
one task for the whole process (no timer per page), the data is read at most once
every `CHART_SECONDS` and shared by every open overview, and a figure goes to a
browser only when it changed. Commands are re-checked against the session when
clicked; stop and reset stale first say what they touch and ask for a fresh code.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, get_args
from zoneinfo import ZoneInfo

from nicegui import background_tasks, ui
from nicegui.observables import ObservableDict, ObservableList

from dashboard.components import cards, charts, live
from dashboard.components.confirm import ask_code
from dashboard.components.frame import current_zone, frame, path_prefix
from dashboard.components.guard import acting_admin, verify_step_up
from dashboard.data.automation import send_automation_command
from dashboard.data.identification import list_targets_for_chart
from dashboard.data.models import (
    Command,
    DashboardSnapshot,
    FunnelRow,
    Process,
    ThroughputPoint,
)
from dashboard.data.overview import get_conversion_funnel, get_throughput_timeseries
from dashboard.data.query import BackendError
from dashboard.data.queue import get_queue_statistics
from dashboard.runtime import get_runtime

CHART_SECONDS = 15.0
CHART_CHECK_SECONDS = 5.0
DANGEROUS: frozenset[str] = frozenset({"stop", "reset_stale"})
PROCESSES: tuple[Process, ...] = get_args(Process)
COMMANDS: tuple[Command, ...] = get_args(Command)


async def command_impact(process: str, command: str) -> str:
    """What a dangerous command touches, in words, counted now."""
    api = get_runtime().api
    queue = await get_queue_statistics(api)
    if command == "reset_stale":
        return (
            f"{queue.stale_started:,} started business(es) older than the stale limit will be"
            " requeued, or failed when out of attempts."
        )
    snapshot = await live.current_snapshot()
    workers = next((s.worker_count for s in snapshot.status if s.process == process), 0)
    in_flight = queue.counts.started if process == "implementation" else 0
    return (
        f"Stops {workers} {process} worker(s); {in_flight:,} business(es) are being built"
        " right now and finish or go stale."
    )


async def run_command(process: str, command: str) -> None:
    """Send one command as the signed-in admin, with step-up when it is dangerous."""
    if process not in PROCESSES or command not in COMMANDS:
        ui.notify(f"Unknown command {command!r} for {process!r}", type="negative")
        return
    actor = await acting_admin()
    if actor is None:
        return
    if command in DANGEROUS:
        code = await ask_code(f"{command.replace('_', ' ').title()} {process}?",
                              await command_impact(process, command))  # fmt: skip
        if code is None:
            return
        if not await verify_step_up(code):
            ui.notify("That code is wrong or already used: nothing was sent.", type="negative")
            return
    try:
        sent = await send_automation_command(
            get_runtime().api, process, command, {}, caller=actor.caller()
        )
    except BackendError as exc:
        ui.notify(f"Command refused: {exc.message}", type="negative")
        return
    ui.notify(f"Sent {command} to {process} (command #{sent.id})", type="positive")


def _funnel_label(row: FunnelRow) -> str:
    return f"{row.category} in {row.city}, {row.region}"


@dataclass(frozen=True)
class ChartData:
    """One read of the charts' data, and the figures built from it: every page showing
    this read shows the same figure objects (NiceGUI keeps no copy; a figure is built
    once per zone or target for the whole process, not once per browser)."""

    points: list[ThroughputPoint]
    funnel: list[FunnelRow]
    targets: list[dict[str, Any]]
    figures: dict[tuple[str, Hashable], ObservableDict] = field(
        default_factory=dict, compare=False, repr=False
    )

    @cached_property
    def target_options(self) -> tuple[dict[int, str], ObservableList]:
        """The funnel's target choices, and their option list shared by every page."""
        options: dict[int, str] = {0: "All targets"}
        options.update({r.target_id: _funnel_label(r) for r in self.funnel if r.target_id})
        return options, charts.shared_options(options)

    def figure(
        self, kind: str, key: Hashable, build: Callable[[], charts.Figure]
    ) -> ObservableDict:
        found = self.figures.get((kind, key))
        if found is None:
            found = self.figures[(kind, key)] = charts.shared_figure(build())
        return found


class SharedCharts:
    """The charts' data, read at most once every CHART_SECONDS for the whole process
    (every open overview shares it), so chart queries do not grow with admins.

    `follow(panel)` brings a page's charts up to date after a change: one task for the
    whole process (no timer per page) waits CHART_CHECK_SECONDS, or until the interval
    allows the next read, then updates every page that saw a change meanwhile."""

    def __init__(self) -> None:
        self.data: ChartData | None = None
        self.read_at = 0.0
        self.reads = 0
        self._lock = asyncio.Lock()
        self._waiting: weakref.WeakSet[Charts] = weakref.WeakSet()
        self._follower: asyncio.Task[None] | None = None

    def follow(self, panel: Charts) -> None:
        self._waiting.add(panel)
        if self._follower is None or self._follower.done():
            self._follower = background_tasks.create(self._catch_up(), name="overview charts")

    async def _catch_up(self) -> None:
        while self._waiting:
            wait = self.read_at + CHART_SECONDS - time.monotonic()
            await asyncio.sleep(max(CHART_CHECK_SECONDS, wait))
            panels = list(self._waiting)
            self._waiting.clear()
            for panel in panels:
                if not panel.client.is_deleted:
                    with panel.client:
                        await panel.reload()

    async def get(self, force: bool = False) -> ChartData:
        async with self._lock:  # one reader; the others wait and share its result
            if force or self.data is None or time.monotonic() - self.read_at >= CHART_SECONDS:
                data = await self._read()
                if data != self.data:  # equal data keeps the old object and its figures
                    self.data = data
                self.read_at = time.monotonic()
                self.reads += 1
            return self.data

    @staticmethod
    async def _read() -> ChartData:
        api = get_runtime().api
        targets = await list_targets_for_chart(api)
        return ChartData(
            await get_throughput_timeseries(api, 24, "hour"),
            await get_conversion_funnel(api),
            targets,
        )


#: What a page shows before its first read: empty charts, shared by every page.
EMPTY = ChartData([], [], [])


def shared_charts() -> SharedCharts:
    services = get_runtime().services
    charts_ = services.get("overview_charts")
    if not isinstance(charts_, SharedCharts):
        charts_ = services["overview_charts"] = SharedCharts()
    return charts_


class Charts:
    """Throughput, funnel (with a target filter) and the target-grid heat map of one page.

    A figure is sent to the browser only when its data changed: hourly bars mostly
    change in place (the current hour grows), which plotly's extendTraces cannot
    express, so an unchanged chart costs nothing and a changed one is sent whole.

    The charts are cells of the caller's six-column grid (no wrappers of their own):
    throughput on the left over two rows, the target select above the funnel on the
    right, the heat map across."""

    def __init__(self) -> None:
        self.client = ui.context.client
        self.zone = current_zone()
        self.shown = EMPTY
        self.read_at = 0.0
        self.throughput = ui.plotly(
            EMPTY.figure("throughput", None, lambda: charts.throughput_figure([], None))
        ).classes("col-span-full lg:col-span-3 lg:row-span-2")
        self.target = charts.SharedOptionsSelect(
            *EMPTY.target_options, value=0, label="Target", on_change=self.show_funnel
        )
        self.target.classes("col-span-full lg:col-span-3 w-72 max-w-full").mark("funnel-target")
        self.funnel = ui.plotly(EMPTY.figure("funnel", None, lambda: charts.funnel_figure(None)))
        self.funnel.classes("col-span-full lg:col-span-3")
        self.heatmap = ui.plotly(
            EMPTY.figure("heatmap", None, lambda: charts.heatmap_figure([]))
        ).classes("col-span-full")

    async def reload(self, force: bool = False) -> None:
        shared = shared_charts()
        data = await shared.get(force)
        self.read_at = shared.read_at
        old, self.shown = self.shown, data
        if old is data:
            return
        zone = self.zone
        if old is EMPTY or old.points != data.points:
            figure = data.figure("throughput", zone and zone.key,
                                 lambda: charts.throughput_figure(data.points, zone))  # fmt: skip
            self.throughput.update_figure(figure)
        if old is EMPTY or old.funnel != data.funnel:
            options, option_list = data.target_options
            value = self.target.value if self.target.value in options else 0
            self.target.show_options(options, option_list, value)
            self.show_funnel()
        if old is EMPTY or old.targets != data.targets:
            self.heatmap.update_figure(
                data.figure("heatmap", None, lambda: charts.heatmap_figure(data.targets))
            )

    def show_funnel(self) -> None:
        data, wanted = self.shown, self.target.value or None
        row = next((r for r in data.funnel if r.target_id == wanted), None)
        self.funnel.update_figure(data.figure("funnel", wanted, lambda: charts.funnel_figure(row)))


class OverviewCards:
    """Every card of one overview, drawn once from the first snapshot; `show` updates
    them in place from each later one (nothing is deleted or rebuilt)."""

    def __init__(self, snapshot: DashboardSnapshot, zone: ZoneInfo | None, prefix: str) -> None:
        self.zone = zone
        columns = "w-full gap-4 grid-cols-1 md:grid-cols-2 xl:grid-cols-4"
        with ui.grid().classes(columns) as self.top:
            self.queue = cards.QueueCard(snapshot.queue)
            self.identification = cards.IdentificationCard(snapshot.identification)
            self.status: dict[str, cards.StatusCard] = {}
            self._show_status(snapshot)
        with ui.grid().classes("w-full gap-4 grid-cols-1 lg:grid-cols-6") as self.lower:
            self.config = cards.ConfigCard(snapshot.config, zone, prefix)
            self.config.block.element.classes("lg:col-span-2")
            self.runs = cards.RunsCard(snapshot.runs, zone, prefix)
            self.runs.block.element.classes("lg:col-span-4")
            self.logs = cards.LogsCard(snapshot.recent_logs, zone, prefix)
            self.logs.block.element.classes("col-span-full")

    def show(self, snapshot: DashboardSnapshot) -> None:
        self.queue.show(snapshot.queue)
        self.identification.show(snapshot.identification)
        self._show_status(snapshot)
        self.config.show(snapshot.config)
        self.runs.show(snapshot.runs)
        self.logs.show(snapshot.recent_logs)

    def _show_status(self, snapshot: DashboardSnapshot) -> None:
        """One card per process, kept; a process that appears gets its card once."""
        wanted = {status.process for status in snapshot.status}
        for gone in [p for p in self.status if p not in wanted]:
            self.top.remove(self.status.pop(gone).card)
        for status in snapshot.status:
            card = self.status.get(status.process)
            if card is None:
                with self.top:
                    self.status[status.process] = cards.StatusCard(
                        status, self.zone, run_command, snapshot.identification
                    )
            else:
                card.show(status, snapshot.identification)


@ui.page("/")
async def overview_page() -> None:
    with frame("Overview", "/"):
        snapshot = await live.current_snapshot()
        view = OverviewCards(snapshot, current_zone(), path_prefix())
        with view.lower:
            panel = Charts()
        followed = shared_charts()

        def render(snapshot: DashboardSnapshot) -> None:
            view.show(snapshot)
            followed.follow(panel)  # the charts catch up with the change soon after

        live.on_snapshot(render)  # no await since the snapshot was taken: nothing missed
        await panel.reload()
