"""How long ago something happened, said one way everywhere: `42s`, `3m 12s`, `5h 03m`,
`2d 4h`, or `never`.

The pages (`components/cards.py`, the ticking spans of `components/ticking.py`, whose
browser script mirrors `format_age`), the "why" of a business (`ops/why_rules.py`) and
the terminal views (`ops/views.py`) all say an age with it. It sits outside
`components/` because `data/` and `ops/` may not import UI code.
"""

from __future__ import annotations

from datetime import datetime


def format_age(seconds: float | None, suffix: str = "") -> str:
    """A short age, `suffix` (e.g. " ago") after it; `never` (no suffix) when unknown."""
    if seconds is None:
        return "never"
    total = max(0, int(seconds))
    if total < 60:
        return f"{total}s{suffix}"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s{suffix}"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m{suffix}"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h{suffix}"


def format_ago(at: datetime | None, now: datetime) -> str:
    """How long before `now` the moment `at` was: `3m 12s ago`; `never` when there is none."""
    return format_age(None if at is None else (now - at).total_seconds(), " ago")
