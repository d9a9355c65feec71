"""Time display that always names its zone: UTC, or the browser's zone when the admin
chose it in the header. The choice and the browser's zone name live in
`app.storage.user` (keys `time_mode` and `browser_tz`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dashboard.ages import format_age

TimeMode = Literal["utc", "browser"]


def zone_for(mode: str | None, browser_tz: str | None) -> ZoneInfo | None:
    """The zone to show times in; None means UTC."""
    if mode != "browser" or not browser_tz:
        return None
    try:
        return ZoneInfo(browser_tz)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def format_time(value: datetime | None, zone: ZoneInfo | None = None) -> str:
    """`2026-11-25 14:03:07 UTC`, or the same instant in `zone` with its abbreviation."""
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if zone is None:
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    local = value.astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M:%S ") + (local.tzname() or zone.key)


def format_duration(start: datetime | None, end: datetime | None) -> str:
    """How long a run took (or has been running, when `end` is None)."""
    if start is None:
        return "—"
    finish = end or datetime.now(UTC)
    return format_age((finish - start).total_seconds())
