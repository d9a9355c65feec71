"""Overview cards, built once per page and updated in place from each live snapshot:
queue statistics, identification progress, automation status per process (heartbeat
age, a stale banner, command buttons), a config summary, the latest runs and the
recent log lines.

Each card is a class: `__init__` draws it from the first snapshot's rows and `show`
updates it. What a card only displays (title, facts, badges, run rows, log lines) is
rendered as ONE escaped `ui.html` block per card, not an element per label: every
NiceGUI element costs each open page about 4.5 KB of server memory, and a card of
labels was 10-40 of them. `Block.show` sends the block only when its rendered string
changed, so an unchanged snapshot sends nothing. A card's string is rendered once per
snapshot (and zone and mount prefix) for every open page, which all hold that one
string (`shared_render`). Command buttons are real elements, created once and never
replaced. Every value goes through `html.escape`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from html import escape
from zoneinfo import ZoneInfo

from nicegui import ui

from dashboard.actions.automation import command_needs_fresh_code, command_refusal
from dashboard.ages import format_age
from dashboard.components.status import badge as palette_badge
from dashboard.components.status import level_classes
from dashboard.components.ticking import Html, since_html
from dashboard.components.timefmt import format_duration, format_time
from dashboard.data.models import (
    AutomationConfig,
    AutomationLog,
    AutomationRun,
    IdentificationProgress,
    ProcessStatus,
    QueueStatistics,
)

OnCommand = Callable[[str, str], Awaitable[None]]
Facts = list[tuple[str, str]]  # a value that is `Html` (e.g. a ticking age) is kept as is
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("start", "Start", "play_arrow"),
    ("pause", "Pause", "pause"),
    ("resume", "Resume", "play_circle"),
    ("run_once", "Run once", "skip_next"),
    ("stop", "Stop", "stop"),
    ("reset_stale", "Reset stale", "restart_alt"),
)
LOG_LINE = "log-line w-full font-mono text-sm whitespace-pre-wrap break-words"


#: A display-only card is its html block itself, styled as a Quasar card (one element,
#: not a `ui.card` around a block); Tailwind's layer wins over Quasar's, dark mode too.
CARD = "q-card nicegui-card w-full dark:bg-[var(--q-dark)] dark:text-white"


#: The last string each card rendered, per (card, zone, mount prefix), with the snapshot
#: part it came from: pages showing the same snapshot share one string and one render.
_RENDERED: dict[tuple[str, str, str], tuple[object, str]] = {}
RENDERED_KEYS = 256  # zones x prefixes in use; past that the cache starts again


def shared_render(
    card: str, zone: ZoneInfo | None, prefix: str, data: object, render: Callable[[], str]
) -> str:
    """`render()`, or the string already rendered from this very `data` object (the live
    bus hands every page the same snapshot) for the same card, zone and prefix."""
    key = (card, zone.key if zone else "", prefix)
    found = _RENDERED.get(key)
    if found is not None and found[0] is data:
        return found[1]
    if len(_RENDERED) >= RENDERED_KEYS:
        _RENDERED.clear()
    content = render()
    if found is not None and found[1] == content:
        content = found[1]  # an equal string from an earlier snapshot: keep the one pages hold
    _RENDERED[key] = (data, content)
    return content


class Block:
    """One `ui.html` element whose content is replaced only when it changed."""

    def __init__(self, content: str, *markers: str, card: bool = False) -> None:
        self.element = ui.html(content, sanitize=False).classes(CARD if card else "w-full")
        self.element.mark(*markers)

    def show(self, content: str) -> None:
        if content != self.element.content:
            self.element.set_content(content)


def title(text: str, link: tuple[str, str] | None = None, right: str = "") -> str:
    """A card's title line, with an optional `(label, href)` link or badge on the right."""
    if link is not None:
        right = f'<a class="nicegui-link" href="{escape(link[1])}">{escape(link[0])}</a>'
    head = f'<div class="text-lg font-semibold">{escape(text)}</div>'
    return f'<div class="w-full flex items-center justify-between">{head}{right}</div>'


def badge(word: str) -> str:
    """A state word as a badge of the one status palette (`components/status.py`)."""
    return palette_badge(word)


def facts_html(facts: Facts) -> str:
    """Rows of `name  value` in one two-column grid."""
    cells = "".join(
        f'<span class="text-gray-500">{escape(name)}</span>'
        f'<span class="font-mono text-right">{_value(value)}</span>'
        for name, value in facts
    )
    return f'<div class="w-full grid grid-cols-2 gap-x-2">{cells}</div>'


def _value(value: str) -> str:
    return value if isinstance(value, Html) else escape(value)


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
        ("oldest queued", _oldest_queued(queue)),
        ("deployed 1h / 24h", f"{_count(hour.deployed)} / {_count(day.deployed)}"),
        ("claimed 1h / 24h", f"{_count(hour.claimed)} / {_count(day.claimed)}"),
    ]


def _oldest_queued(queue: QueueStatistics) -> str:
    if queue.oldest_queued_at is None:
        return format_age(queue.oldest_queued_age_seconds)
    return since_html(queue.oldest_queued_at)


class QueueCard:
    def __init__(self, queue: QueueStatistics) -> None:
        self.block = Block(self.shared(queue), "queue-card", card=True)

    @staticmethod
    def render(queue: QueueStatistics) -> str:
        return title("Queue") + facts_html(queue_facts(queue))

    def shared(self, queue: QueueStatistics) -> str:
        return shared_render("queue", None, "", queue, lambda: self.render(queue))

    def show(self, queue: QueueStatistics) -> None:
        self.block.show(self.shared(queue))


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


def progress_bar(percent: float) -> str:
    width = max(0.0, min(100.0, percent))
    return (
        '<div class="w-full h-1 my-2 rounded bg-grey-4">'
        f'<div class="h-1 rounded bg-primary" style="width: {width:.1f}%"></div></div>'
    )


class IdentificationCard:
    def __init__(self, progress: IdentificationProgress) -> None:
        self.block = Block(self.shared(progress), "identification-card", card=True)

    @staticmethod
    def render(progress: IdentificationProgress) -> str:
        return (
            title("Identification")
            + f"<div>{escape(current_target(progress))}</div>"
            + progress_bar(progress.percent_complete)
            + facts_html(identification_facts(progress))
        )

    def shared(self, progress: IdentificationProgress) -> str:
        return shared_render("identification", None, "", progress, lambda: self.render(progress))

    def show(self, progress: IdentificationProgress) -> None:
        self.block.show(self.shared(progress))


def status_facts(status: ProcessStatus, zone: ZoneInfo | None) -> Facts:
    return [
        ("wanted", status.desired_state),
        ("workers", str(status.worker_count)),
        ("heartbeat age", since_html(status.last_heartbeat_at)),
        ("last heartbeat", format_time(status.last_heartbeat_at, zone)),
        ("processed / errors", f"{status.processed_count:,} / {status.error_count:,}"),
    ]


def stale_text(status: ProcessStatus) -> str:
    """Why the card is red, and what to do about it."""
    start = f"cliftonsites worker --process {status.process}"
    if status.heartbeat_age_seconds is None:
        return f"No worker has reported yet. Start one: {start}"
    return (
        f"Stale: no heartbeat for {format_age(status.heartbeat_age_seconds)}."
        f" The worker may be down: check its log, or start one: {start}"
    )


def stale_html(status: ProcessStatus) -> str:
    """`stale_text` with the age ticking in the browser."""
    if status.last_heartbeat_at is None:
        return escape(stale_text(status))
    start = f"cliftonsites worker --process {status.process}"
    return (
        f"Stale: no heartbeat for {since_html(status.last_heartbeat_at)}."
        f" The worker may be down: check its log, or start one: {escape(start)}"
    )


class CommandButton(ui.element):
    """A Quasar button with only what a command needs: label, icon, colour and one click
    handler. A `ui.button` also keeps bindable text, icon, colour and enabled state and
    waiters for `clicked()`: about 1.9 KB more per button on every open page."""

    def __init__(
        self, label: str, icon: str, color: str, on_click: Callable[[], Awaitable[None]]
    ) -> None:
        super().__init__("q-btn")
        self.props.update({"label": label, "icon": icon, "color": color})
        self.props("dense no-caps")
        self.on("click", lambda _: on_click(), [])
        self.refusal: str | None = None

    def refuse(self, reason: str | None) -> None:
        """Greyed out with `reason` on hover when the command would change nothing (the
        click checks again, since the state may change before it lands)."""
        if reason == self.refusal:
            return
        self.refusal = reason
        if reason is None:
            self.props.pop("disable", None)
            self.props.pop("title", None)
        else:
            self.props.update({"disable": True, "title": reason})
        self.update()


class StatusCard:
    """One process: state badge, stale banner, facts and message (one block), and its
    command buttons (real elements, wrapping in the card itself: no row element)."""

    def __init__(
        self,
        status: ProcessStatus,
        zone: ZoneInfo | None,
        on_command: OnCommand,
        progress: IdentificationProgress | None = None,
        stale_started: int = 0,
    ):
        self.zone = zone
        self.progress = progress
        self.buttons: dict[str, CommandButton] = {}
        card = ui.card().classes("w-full flex-row flex-wrap items-start gap-1")
        with card.mark(f"status-card-{status.process}") as self.card:
            self.block = Block(self.shared(status), f"status-facts-{status.process}")
            self.block.element.classes("mb-2")
            for command, label, icon in COMMANDS:
                danger = command_needs_fresh_code(command)
                self.buttons[command] = CommandButton(
                    label,
                    icon,
                    "negative" if danger else "primary",
                    partial(on_command, status.process, command),
                ).mark(f"cmd-{status.process}-{command}")
        self.follow(status, stale_started)

    def follow(self, status: ProcessStatus, stale_started: int) -> None:
        """Each button enabled only when its command would change something."""
        for command, button in self.buttons.items():
            button.refuse(command_refusal(command, status, stale_started))

    def render(self, status: ProcessStatus) -> str:
        label, word = status_badge(status, self.progress)
        parts = [title(status.process.title(), right=palette_badge(word, label))]
        if status.is_stale:
            banner = "w-full bg-red-600 text-white rounded px-2 py-1 my-1"
            parts.append(
                f'<div class="{banner}" data-testid="stale-banner-{escape(status.process)}">'
                f"{stale_html(status)}</div>"
            )
        if status.desired_state == "paused":
            reason = status.paused_reason or "paused by an admin"
            note = "w-full bg-amber-100 text-amber-900 rounded px-2 py-1 my-1 text-sm"
            parts.append(
                f'<div class="{note}" data-testid="paused-reason-{escape(status.process)}">'
                f"Paused: {escape(reason)}</div>"
            )
        parts.append(facts_html(status_facts(status, self.zone)))
        if status.message:
            parts.append(f'<div class="text-sm italic">{escape(status.message)}</div>')
        return "".join(parts)

    def shared(self, status: ProcessStatus) -> str:
        card = f"status-{status.process}"
        return shared_render(card, self.zone, "", status, lambda: self.render(status))

    def show(
        self,
        status: ProcessStatus,
        progress: IdentificationProgress | None = None,
        stale_started: int = 0,
    ) -> None:
        self.progress = progress
        self.block.show(self.shared(status))
        self.follow(status, stale_started)


def grid_finished(status: ProcessStatus, progress: IdentificationProgress | None) -> bool:
    """Identification has walked every target: the worker is alive but has nothing to do."""
    return (
        status.process == "identification"
        and progress is not None
        and progress.total > 0
        and progress.pending == 0
        and progress.in_progress == 0
        and progress.current_target_id is None
    )


def status_badge(status: ProcessStatus, progress: IdentificationProgress | None) -> tuple[str, str]:
    """The badge's label and the state word whose tone colours it: what the process is
    really doing, not only its state column (a silent worker's row still says
    `running`)."""
    if status.is_stale:
        return ("no worker" if status.last_heartbeat_at is None else "stale"), "failed"
    if status.desired_state == "stopped" and status.state not in ("running", "stopping"):
        return "stopped", "stopped"
    if status.desired_state == "paused" or status.state == "paused":
        return "paused", "paused"
    if status.state in ("running", "idle") and grid_finished(status, progress):
        return "grid finished", "completed"
    return status.state, status.state


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
        ("updated", format_time(config.updated_at, zone)),
        ("updated by", config.updated_by or "—"),
    ]


class ConfigCard:
    def __init__(self, config: AutomationConfig, zone: ZoneInfo | None, prefix: str) -> None:
        self.zone, self.prefix = zone, prefix
        self.block = Block(self.shared(config), "config-card", card=True)

    def render(self, config: AutomationConfig) -> str:
        head = title("Config", ("edit", f"{self.prefix}/config"))
        return head + facts_html(config_facts(config, self.zone))

    def shared(self, config: AutomationConfig) -> str:
        return shared_render("config", self.zone, self.prefix, config, lambda: self.render(config))

    def show(self, config: AutomationConfig) -> None:
        self.block.show(self.shared(config))


def _run_counts(run: AutomationRun) -> str:
    return f"{run.items_processed} ok, {run.items_failed} failed"


def run_row(run: AutomationRun, zone: ZoneInfo | None, prefix: str) -> str:
    cells = [
        f'<a class="nicegui-link" href="{escape(f"{prefix}/runs?run={run.id}")}">#{run.id}</a>',
        f"<span>{escape(run.process)}</span>",
        badge(run.status),
        f"<span>{escape(_run_counts(run))}</span>",
        f"<span>{escape(format_duration(run.started_at, run.finished_at))}</span>",
        f'<span class="text-gray-500">{escape(format_time(run.started_at, zone))}</span>',
    ]
    return f'<div class="run-row flex items-center gap-2 text-sm">{"".join(cells)}</div>'


def log_row(line: AutomationLog, zone: ZoneInfo | None) -> str:
    """One line, coloured by level: its time (and zone), process, level and message."""
    text = f"{format_time(line.created_at, zone)}  {line.process}  {line.level.upper()}"
    classes = f"{LOG_LINE} {level_classes(line.level)}".strip()
    return f'<div class="{classes}">{escape(f"{text}  {line.message}")}</div>'


def rows_html(rows: Sequence[str], empty: str) -> str:
    body = "".join(rows) or f"<div>{escape(empty)}</div>"
    return f'<div class="w-full flex flex-col gap-1">{body}</div>'


class RunsCard:
    def __init__(self, runs: Sequence[AutomationRun], zone: ZoneInfo | None, prefix: str) -> None:
        self.zone, self.prefix = zone, prefix
        self.block = Block(self.shared(runs), "runs-card", "runs-list", card=True)

    def render(self, runs: Sequence[AutomationRun]) -> str:
        rows = [run_row(run, self.zone, self.prefix) for run in runs]
        head = title("Latest runs", ("all runs", f"{self.prefix}/runs"))
        return head + rows_html(rows, "No runs yet")

    def shared(self, runs: Sequence[AutomationRun]) -> str:
        return shared_render("runs", self.zone, self.prefix, runs, lambda: self.render(runs))

    def show(self, runs: Sequence[AutomationRun]) -> None:
        self.block.show(self.shared(runs))


class LogsCard:
    """The newest log lines first, each with its time (and zone), process and level."""

    def __init__(self, lines: Sequence[AutomationLog], zone: ZoneInfo | None, prefix: str) -> None:
        self.zone, self.prefix = zone, prefix
        self.block = Block(self.shared(lines), "logs-card", "logs-list", card=True)

    def render(self, lines: Sequence[AutomationLog]) -> str:
        newest = sorted(lines, key=lambda line: line.id, reverse=True)
        head = title("Recent logs", ("all logs", f"{self.prefix}/logs"))
        return head + rows_html([log_row(line, self.zone) for line in newest], "No log lines yet")

    def shared(self, lines: Sequence[AutomationLog]) -> str:
        return shared_render("logs", self.zone, self.prefix, lines, lambda: self.render(lines))

    def show(self, lines: Sequence[AutomationLog]) -> None:
        self.block.show(self.shared(lines))
