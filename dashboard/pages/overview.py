"""`/`: the live overview: queue, identification (with the target grid), automation
status with command buttons, config summary, latest runs, and the charts.

Cards re-render from the live bus's shared snapshot (no query per browser); charts
re-read at most every `CHART_SECONDS`. Commands are re-checked against the session
when clicked; stop and reset stale first say what they touch and ask for a fresh code.
"""

from __future__ import annotations

import time

from nicegui import ui

from dashboard.backends.base import BackendError, Order
from dashboard.components import cards, charts, live
from dashboard.components.confirm import ask_code
from dashboard.components.frame import current_zone, frame
from dashboard.components.guard import acting_admin, verify_step_up
from dashboard.data.automation import send_automation_command
from dashboard.data.models import Command, DashboardSnapshot, FunnelRow, Process
from dashboard.data.overview import get_conversion_funnel, get_throughput_timeseries
from dashboard.data.queue import get_queue_statistics
from dashboard.runtime import get_runtime

CHART_SECONDS = 15.0
DANGEROUS: frozenset[str] = frozenset({"stop", "reset_stale"})
PROCESSES: tuple[Process, ...] = ("identification", "implementation")
COMMANDS: tuple[Command, ...] = ("start", "stop", "pause", "resume", "run_once", "reset_stale")


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


@live.survives_refresh
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
            get_runtime().api,
            process,
            command,
            {},
            actor.email,
        )
    except BackendError as exc:
        ui.notify(f"Command refused: {exc.message}", type="negative")
        return
    ui.notify(f"Sent {command} to {process} (command #{sent.id})", type="positive")


def _funnel_label(row: FunnelRow) -> str:
    return f"{row.category} in {row.city}, {row.region}"


class Charts:
    """Throughput, funnel (with a target filter) and the target-grid heat map."""

    def __init__(self) -> None:
        self.rows: list[FunnelRow] = []
        self.read_at = 0.0
        with ui.grid().classes("w-full grid-cols-1 lg:grid-cols-2 gap-4"):
            self.throughput = ui.plotly(charts.throughput_figure([], current_zone()))
            with ui.column().classes("w-full"):
                self.target = (
                    ui.select(
                        {0: "All targets"}, value=0, label="Target", on_change=self.show_funnel
                    )
                    .classes("w-72 max-w-full")
                    .mark("funnel-target")
                )
                self.funnel = ui.plotly(charts.funnel_figure(None)).classes("w-full")
        self.heatmap = ui.plotly(charts.heatmap_figure([])).classes("w-full")

    async def reload(self, force: bool = False) -> None:
        if not force and time.monotonic() - self.read_at < CHART_SECONDS:
            return
        self.read_at = time.monotonic()
        api = get_runtime().api
        points = await get_throughput_timeseries(api, 24, "hour")
        self.throughput.update_figure(charts.throughput_figure(points, current_zone()))
        self.rows = await get_conversion_funnel(api)
        options: dict[int, str] = {0: "All targets"}
        options.update({r.target_id: _funnel_label(r) for r in self.rows if r.target_id})
        self.target.set_options(
            options, value=self.target.value if self.target.value in options else 0
        )
        self.show_funnel()
        targets = await api.select(
            "identification_targets",
            columns="id,position,city,region,category,status,businesses_found",
            order=[Order("position")],
            limit=10000,
        )
        self.heatmap.update_figure(charts.heatmap_figure(targets.rows))

    def show_funnel(self) -> None:
        wanted = self.target.value or None
        row = next((r for r in self.rows if r.target_id == wanted), None)
        self.funnel.update_figure(charts.funnel_figure(row))


@ui.page("/")
async def overview_page() -> None:
    with frame("Overview", "/"):

        @ui.refreshable
        def body(snapshot: DashboardSnapshot) -> None:
            zone = current_zone()
            with ui.grid().classes("w-full gap-4 grid-cols-1 md:grid-cols-2 xl:grid-cols-4"):
                cards.queue_card(snapshot.queue)
                cards.identification_card(snapshot.identification)
                for status in snapshot.status:
                    cards.status_card(status, zone, run_command)
            with ui.grid().classes("w-full gap-4 grid-cols-1 lg:grid-cols-3"):
                cards.config_card(snapshot.config, zone)
                with ui.element("div").classes("lg:col-span-2"):
                    cards.runs_card(snapshot.runs, zone)

        body(await live.current_snapshot())
        panel = Charts()
        await panel.reload(force=True)

        async def render(snapshot: DashboardSnapshot) -> None:
            body.refresh(snapshot)
            await panel.reload()

        live.on_snapshot(render)
