"""Overview cards: queue statistics, identification progress, automation status per
process (with heartbeat age, a stale banner and command buttons) and a config summary.
Each takes already-fetched rows; callbacks do the acting."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from zoneinfo import ZoneInfo

from nicegui import ui

from dashboard.components.timefmt import format_age, format_duration, format_time
from dashboard.data.models import (
    AutomationConfig,
    AutomationRun,
    IdentificationProgress,
    ProcessStatus,
    QueueStatistics,
)

OnCommand = Callable[[str, str], Awaitable[None]]
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


def _fact(label: str, value: object) -> None:
    with ui.row().classes("w-full justify-between gap-2 no-wrap"):
        ui.label(label).classes("text-gray-500")
        ui.label(str(value)).classes("font-mono text-right")


def queue_card(queue: QueueStatistics) -> None:
    with ui.card().classes("w-full"):
        ui.label("Queue").classes("text-lg font-semibold")
        for status, count in queue.counts.model_dump().items():
            _fact(status, f"{count:,}")
        _fact("total", f"{queue.total:,}")
        _fact("stale started", f"{queue.stale_started:,}")
        _fact("oldest queued", format_age(queue.oldest_queued_age_seconds))
        hour, day = queue.throughput.last_hour, queue.throughput.last_day
        _fact("deployed 1h / 24h", f"{hour.deployed:,} / {day.deployed:,}")
        _fact("claimed 1h / 24h", f"{hour.claimed:,} / {day.claimed:,}")


def identification_card(progress: IdentificationProgress) -> None:
    with ui.card().classes("w-full"):
        ui.label("Identification").classes("text-lg font-semibold")
        if progress.current_target_id is None:
            ui.label("No target in progress")
        else:
            ui.label(
                f"#{progress.current_position}: {progress.current_category} in "
                f"{progress.current_city}, {progress.current_region}"
            )
        ui.linear_progress(value=progress.percent_complete / 100, show_value=False)
        _fact("complete", f"{progress.percent_complete:.1f}%")
        _fact("targets done / total", f"{progress.done:,} / {progress.total:,}")
        _fact("pending / skipped", f"{progress.pending:,} / {progress.skipped:,}")
        _fact("businesses found", f"{progress.businesses_found:,}")


def status_card(status: ProcessStatus, zone: ZoneInfo | None, on_command: OnCommand) -> None:
    with ui.card().classes("w-full"):
        with ui.row().classes("w-full items-center justify-between"):
            ui.label(status.process.title()).classes("text-lg font-semibold")
            ui.badge(status.state, color=STATE_COLOURS.get(status.state, "grey"))
        if status.is_stale:
            with ui.row().classes("w-full bg-red-600 text-white rounded px-2 py-1"):
                ui.label(
                    f"Stale: no heartbeat for {format_age(status.heartbeat_age_seconds)}."
                    " The worker may be down."
                )
        _fact("wanted", status.desired_state)
        _fact("workers", status.worker_count)
        _fact("heartbeat age", format_age(status.heartbeat_age_seconds))
        _fact("last heartbeat", format_time(status.last_heartbeat_at, zone))
        _fact("processed / errors", f"{status.processed_count:,} / {status.error_count:,}")
        if status.message:
            ui.label(status.message).classes("text-sm italic")
        with ui.row().classes("gap-1 flex-wrap"):
            for command, label, icon in COMMANDS:
                danger = command in ("stop", "reset_stale")
                ui.button(
                    label,
                    icon=icon,
                    color="negative" if danger else "primary",
                    on_click=lambda _, c=command: on_command(status.process, c),
                ).props("dense no-caps").mark(f"cmd-{status.process}-{command}")


def config_card(config: AutomationConfig, zone: ZoneInfo | None) -> None:
    with ui.card().classes("w-full"):
        with ui.row().classes("w-full items-center justify-between"):
            ui.label("Config").classes("text-lg font-semibold")
            ui.link("edit", "/config")
        for key in ("identification_enabled", "implementation_enabled", "outreach_enabled"):
            _fact(key.removesuffix("_enabled"), "on" if getattr(config, key) else "OFF")
        _fact("batch size", config.batch_size)
        _fact("max attempts", config.max_attempts)
        _fact("daily deploy limit", f"{config.daily_deploy_limit:,}")
        _fact("stale after", f"{config.stale_after_minutes} min")
        _fact("updated", f"{format_time(config.updated_at, zone)} by {config.updated_by or '—'}")


def runs_card(runs: Sequence[AutomationRun], zone: ZoneInfo | None) -> None:
    with ui.card().classes("w-full"):
        with ui.row().classes("w-full items-center justify-between"):
            ui.label("Latest runs").classes("text-lg font-semibold")
            ui.link("all runs", "/runs")
        if not runs:
            ui.label("No runs yet")
        for run in runs:
            with ui.row().classes("w-full gap-2 text-sm no-wrap"):
                ui.link(f"#{run.id}", f"/runs?run={run.id}")
                ui.label(run.process)
                ui.badge(run.status, color=_run_colour(run.status))
                ui.label(f"{run.items_processed} ok, {run.items_failed} failed")
                ui.label(format_duration(run.started_at, run.finished_at))
                ui.label(format_time(run.started_at, zone)).classes("text-gray-500")


def _run_colour(status: str) -> str:
    return {"succeeded": "positive", "failed": "negative", "running": "info"}.get(status, "grey")
