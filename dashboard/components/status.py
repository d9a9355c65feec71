"""The one status palette: every badge, row and log line that shows a state takes its
colour and symbol from here, so the same word looks the same on every page.

Five tones: failed (red), warning (amber), success (green), in progress (blue) and
neutral (grey). A badge always carries the word itself and a symbol beside the colour
(colour alone says nothing to a colour-blind admin or a screen reader). The colours
are those of `dashboard/assets/app.css` (`.tone-*`), which meet WCAG AA contrast (at
least 4.5:1) in light and dark mode.
"""

from __future__ import annotations

from html import escape
from typing import Literal

Tone = Literal["failed", "warning", "success", "progress", "neutral"]

#: The symbol shown beside each tone's colour: drawn by app.css (`[data-tone]::before`,
#: with empty alt text), so screen readers and the page's text hold the word alone.
SYMBOLS: dict[Tone, str] = {
    "failed": "✕",
    "warning": "!",
    "success": "✓",
    "progress": "↻",
    "neutral": "•",
}

#: Every state word the app shows, by tone; a word not listed is neutral.
TONES: dict[str, Tone] = {
    # failed: something broke and needs a person
    "failed": "failed",
    "error": "failed",
    "expired": "failed",
    "suspended": "failed",
    "bounced": "failed",
    "unsubscribed": "failed",
    # warning: held, or about to stop
    "warning": "warning",
    "paused": "warning",
    "stopping": "warning",
    "skipped": "warning",
    "stale": "warning",
    "cancelled": "warning",
    # success: done as wanted
    "succeeded": "success",
    "completed": "success",
    "deployed": "success",
    "active": "success",
    "done": "success",
    "claimed": "success",
    "paid": "success",
    "replied": "success",
    # in progress: something is working on it now
    "running": "progress",
    "started": "progress",
    "processing": "progress",
    "in_progress": "progress",
    "sent": "progress",
}


def tone(word: str) -> Tone:
    """The tone of a state word (`failed`, `running`, ...); neutral when unknown."""
    return TONES.get(word.strip().lower(), "neutral")


def badge_classes(word: str) -> str:
    """CSS classes of a badge for `word` (for `ui.badge` / Quasar elements)."""
    return f"status-badge tone-{tone(word)}"


def badge(word: str, label: str | None = None) -> str:
    """A badge as escaped HTML: symbol and text, coloured by the word's tone.

    `label` is the text shown when it differs from the state word (`site deployed`)."""
    kind = tone(word)
    return (
        f'<span class="status-badge tone-{kind}" data-tone="{kind}">'
        f"{escape(label if label is not None else word)}</span>"
    )


def level_classes(level: str) -> str:
    """Classes of a log line by its level: errors red and bold, warnings amber."""
    return {
        "debug": "tone-text-muted",
        "info": "",
        "warning": "tone-text-warning",
        "error": "tone-text-failed font-semibold",
    }.get(level, "")
