"""Overview cards, built once per page and updated in place from each live snapshot:
queue statistics, identification progress, automation status per process (heartbeat
age, a stale banner, command buttons), a config summary, the latest runs and the
recent log lines.

Each card is a class: `__init__` draws it from the first snapshot's rows and `show`
sets only what changed. A label whose text is unchanged sends nothing (NiceGUI
skips equal values), so a snapshot that changes one count sends that one label. The
lists (runs, log lines) are keyed by id: a new item adds one row, a gone one removes
its row. Command buttons are created once and never replaced.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, Protocol, TypeVar
from zoneinfo import ZoneInfo

from nicegui import ui

from dashboard.components.timefmt import format_age, format_duration, format_time
from dashboard.data.models import (
    AutomationConfig,
    AutomationLog,
    AutomationRun,
    IdentificationProgress,
    ProcessStatus,
    QueueStatistics,
)

OnCommand = Callable[[str, str], Awaitable[None]]
Facts = list[tuple[str, str]]
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("start", "Start", "play_arrow"),
    ("pause", "Pause", "pause"),
    ("resume", "Resume", "play_circle"),
    ("run_once", "Run once", "skip_next"),
    ("stop", "Stop", "stop"),
    ("reset_stale", "Reset stale", "restart_alt"),
)
STATE_COLOURS = {
    "running": "positive",
    "idle": "info",
    "paused": "warning",
    "stopping": "warning",
    "error": "negative",
    "offline": "grey",
}
RUN_COLOURS = {"succeeded": "positive", "failed": "negative", "running": "info"}
LEVEL_CLASSES = {
    "debug": "text-gray-500",
    "info": "",
    "warning": "text-amber-600",
    "error": "text-red-600 font-semibold",
}


class FactList:
    """Rows of `name  value` in one two-column grid (no wrapper element per row: every
    element costs each open page a few KB of server memory); values are set in place."""

    def __init__(self, facts: Facts) -> None:
        self.values: dict[str, ui.label] = {}
        with ui.element("div").classes("w-full grid grid-cols-2 gap-x-2"):
            for name, value in facts:
                ui.label(name).classes("text-gray-500")
                self.values[name] = ui.label(value).classes("font-mono text-right")

    def show(self, facts: Facts) -> None:
        for name, value in facts:
            self.values[name].set_text(value)


def _title(text: str) -> None:
    ui.label(text).classes("text-lg font-semibold")


def _count(value: int | None, approximate: bool = False) -> str:
    """A count as people read it; `≈` marks a planner estimate, `—` an unknown."""
    if value is None:
        return "—"
    return f"≈ {value:,}" if approximate else f"{value:,}"


def queue_facts(queue: QueueStatistics) -> Facts:
    hour, day = queue.throughput.last_hour, queue.throughput.last_day
    estimated = set(queue.approximate)
    return [
        *(
            (status, _count(count, status in estimated))
            for status, count in queue.counts.model_dump().items()
        ),
        ("total", _count(queue.total, bool(estimated))),
        ("stale started", _count(queue.stale_started)),
        ("oldest queued", format_age(queue.oldest_queued_age_seconds)),
        ("deployed 1h / 24h", f"{_count(hour.deployed)} / {_count(day.deployed)}"),
        ("claimed 1h / 24h", f"{_count(hour.claimed)} / {_count(day.claimed)}"),
    ]


class QueueCard:
    def __init__(self, queue: QueueStatistics) -> None:
        with ui.card().classes("w-full").mark("queue-card"):
            _title("Queue")
            self.facts = FactList(queue_facts(queue))

    def show(self, queue: QueueStatistics) -> None:
        self.facts.show(queue_facts(queue))


def identification_facts(progress: IdentificationProgress) -> Facts:
    return [
        ("complete", f"{progress.percent_complete:.1f}%"),
        ("targets done / total", f"{progress.done:,} / {progress.total:,}"),
        ("pending / skipped", f"{progress.pending:,} / {progress.skipped:,}"),
        ("businesses found", f"{progress.businesses_found:,}"),
    ]


def current_target(progress: IdentificationProgress) -> str:
    if progress.current_target_id is None:
        return "No target in progress"
    return (
        f"#{progress.current_position}: {progress.current_category} in "
        f"{progress.current_city}, {progress.current_region}"
    )


class IdentificationCard:
    def __init__(self, progress: IdentificationProgress) -> None:
        with ui.card().classes("w-full").mark("identification-card"):
            _title("Identification")
            self.target = ui.label(current_target(progress))
            self.bar = ui.linear_progress(value=progress.percent_complete / 100, show_value=False)
            self.facts = FactList(identification_facts(progress))

    def show(self, progress: IdentificationProgress) -> None:
        self.target.set_text(current_target(progress))
        self.bar.set_value(progress.percent_complete / 100)
        self.facts.show(identification_facts(progress))


def status_facts(status: ProcessStatus, zone: ZoneInfo | None) -> Facts:
    return [
        ("wanted", status.desired_state),
        ("workers", str(status.worker_count)),
        ("heartbeat age", format_age(status.heartbeat_age_seconds)),
        ("last heartbeat", format_time(status.last_heartbeat_at, zone)),
        ("processed / errors", f"{status.processed_count:,} / {status.error_count:,}"),
    ]


def stale_text(status: ProcessStatus) -> str:
    return (
        f"Stale: no heartbeat for {format_age(status.heartbeat_age_seconds)}."
        " The worker may be down."
    )


class StatusCard:
    """One process: state badge, stale banner, facts, message and its command buttons."""

    def __init__(self, status: ProcessStatus, zone: ZoneInfo | None, on_command: OnCommand):
        self.zone = zone
        with ui.card().classes("w-full").mark(f"status-card-{status.process}") as self.card:
            with ui.row().classes("w-full items-center justify-between"):
                _title(status.process.title())
                self.state = ui.badge(status.state, color=_state_colour(status))
            with ui.row().classes("w-full bg-red-600 text-white rounded px-2 py-1") as self.stale:
                self.stale_label = ui.label(stale_text(status))
            self.facts = FactList(status_facts(status, zone))
            self.message = ui.label(status.message or "").classes("text-sm italic")
            with ui.row().classes("gap-1 flex-wrap"):
                for command, label, icon in COMMANDS:
                    danger = command in ("stop", "reset_stale")
                    ui.button(
                        label,
                        icon=icon,
                        color="negative" if danger else "primary",
                        on_click=lambda _, c=command: on_command(status.process, c),
                    ).props("dense no-caps").mark(f"cmd-{status.process}-{command}")
        self._show_flags(status)

    def show(self, status: ProcessStatus) -> None:
        self.state.set_text(status.state)
        self.state.set_background_color(_state_colour(status))
        self.stale_label.set_text(stale_text(status))
        self.facts.show(status_facts(status, self.zone))
        self.message.set_text(status.message or "")
        self._show_flags(status)

    def _show_flags(self, status: ProcessStatus) -> None:
        self.stale.set_visibility(status.is_stale)
        self.message.set_visibility(bool(status.message))


def _state_colour(status: ProcessStatus) -> str:
    return STATE_COLOURS.get(status.state, "grey")


def config_facts(config: AutomationConfig, zone: ZoneInfo | None) -> Facts:
    switches = ("identification_enabled", "implementation_enabled", "outreach_enabled")
    return [
        *(
            (key.removesuffix("_enabled"), "on" if getattr(config, key) else "OFF")
            for key in switches
        ),
        ("batch size", str(config.batch_size)),
        ("max attempts", str(config.max_attempts)),
        ("daily deploy limit", f"{config.daily_deploy_limit:,}"),
        ("stale after", f"{config.stale_after_minutes} min"),
        ("updated", f"{format_time(config.updated_at, zone)} by {config.updated_by or '—'}"),
    ]


class ConfigCard:
    def __init__(self, config: AutomationConfig, zone: ZoneInfo | None) -> None:
        self.zone = zone
        with ui.card().classes("w-full").mark("config-card"):
            with ui.row().classes("w-full items-center justify-between"):
                _title("Config")
                ui.link("edit", "/config")
            self.facts = FactList(config_facts(config, zone))

    def show(self, config: AutomationConfig) -> None:
        self.facts.show(config_facts(config, self.zone))


class HasId(Protocol):
    @property
    def id(self) -> int: ...


T = TypeVar("T", bound=HasId)
T_contra = TypeVar("T_contra", bound=HasId, contravariant=True)


class RowView(Protocol[T_contra]):
    @property
    def element(self) -> ui.element: ...

    def show(self, item: T_contra) -> None: ...


class KeyedRows(Generic[T]):
    """A list kept in the snapshot's order by id: new items add a row, gone ones remove
    theirs, the others update in place."""

    def __init__(self, build: Callable[[T], RowView[T]], empty: str, marker: str) -> None:
        self.build = build
        self.views: dict[int, RowView[T]] = {}
        self.empty = ui.label(empty)
        self.box = ui.column().classes("w-full gap-1").mark(marker)

    def show(self, items: Sequence[T]) -> None:
        wanted = {item.id for item in items}
        for gone in [key for key in self.views if key not in wanted]:
            self.box.remove(self.views.pop(gone).element)
        for index, item in enumerate(items):
            view = self.views.get(item.id)
            if view is None:
                with self.box:
                    view = self.views[item.id] = self.build(item)
            else:
                view.show(item)
            if self.box.default_slot.children.index(view.element) != index:
                view.element.move(self.box, index)
        self.empty.set_visibility(not items)


class RunRow:
    def __init__(self, run: AutomationRun, zone: ZoneInfo | None) -> None:
        with ui.row().classes("w-full gap-2 text-sm no-wrap") as self.element:
            ui.link(f"#{run.id}", f"/runs?run={run.id}")
            ui.label(run.process)
            self.status = ui.badge(run.status, color=RUN_COLOURS.get(run.status, "grey"))
            self.counts = ui.label(_run_counts(run))
            self.duration = ui.label(format_duration(run.started_at, run.finished_at))
            ui.label(format_time(run.started_at, zone)).classes("text-gray-500")

    def show(self, run: AutomationRun) -> None:
        self.status.set_text(run.status)
        self.status.set_background_color(RUN_COLOURS.get(run.status, "grey"))
        self.counts.set_text(_run_counts(run))
        self.duration.set_text(format_duration(run.started_at, run.finished_at))


def _run_counts(run: AutomationRun) -> str:
    return f"{run.items_processed} ok, {run.items_failed} failed"


class LogRow:
    """One element per line (a tail of 20 lines stays light on every page), coloured by
    level; a log line never changes once written, so `show` has nothing to do."""

    def __init__(self, line: AutomationLog, zone: ZoneInfo | None) -> None:
        text = f"{format_time(line.created_at, zone)}  {line.process}  {line.level.upper()}"
        self.element = ui.label(f"{text}  {line.message}").classes(
            f"w-full font-mono text-sm whitespace-pre-wrap break-all {LEVEL_CLASSES[line.level]}"
        )

    def show(self, line: AutomationLog) -> None:
        return None


class RunsCard:
    def __init__(self, runs: Sequence[AutomationRun], zone: ZoneInfo | None) -> None:
        with ui.card().classes("w-full").mark("runs-card"):
            with ui.row().classes("w-full items-center justify-between"):
                _title("Latest runs")
                ui.link("all runs", "/runs")
            self.rows = KeyedRows[AutomationRun](
                lambda run: RunRow(run, zone), "No runs yet", "runs-list"
            )
        self.show(runs)

    def show(self, runs: Sequence[AutomationRun]) -> None:
        self.rows.show(runs)


class LogsCard:
    """The newest log lines first, each with its time (and zone), process and level."""

    def __init__(self, lines: Sequence[AutomationLog], zone: ZoneInfo | None) -> None:
        with ui.card().classes("w-full").mark("logs-card"):
            with ui.row().classes("w-full items-center justify-between"):
                _title("Recent logs")
                ui.link("all logs", "/logs")
            self.rows = KeyedRows[AutomationLog](
                lambda line: LogRow(line, zone), "No log lines yet", "logs-list"
            )
        self.show(lines)

    def show(self, lines: Sequence[AutomationLog]) -> None:
        self.rows.show(sorted(lines, key=lambda line: line.id, reverse=True))
