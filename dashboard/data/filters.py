"""The filters of each table view, as Backend filters, shared by the pages and the CSV
export (so an export holds exactly the rows the page shows). No UI imports here."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from typing import Any, get_args

from dashboard.data.models import LogLevel, LogProcess, Process, RunStatus
from dashboard.data.query import Filter

#: The choices of each filter: the values of the column's type, in its order.
LOG_PROCESSES: tuple[LogProcess, ...] = get_args(LogProcess)
LOG_LEVELS: tuple[LogLevel, ...] = get_args(LogLevel)
RUN_PROCESSES: tuple[Process, ...] = get_args(Process)
RUN_STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)
MAX_TEXT = 200
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def like_pattern(text: str) -> str:
    """`%text%` for ILIKE with the user's own `%`, `_` and `\\` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def parse_id(text: str | None, what: str) -> int | None:
    """An optional positive id typed by the admin; ValueError with a clear message."""
    value = (text or "").strip().lstrip("#")
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= 2**62:
        raise ValueError(f"{what} must be a whole number like 42")
    return int(value)


def check_choice(value: str | None, allowed: tuple[str, ...], what: str) -> str | None:
    """An optional value from `allowed`; ValueError naming the choices otherwise."""
    if not value:
        return None
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}")
    return value


def check_text(value: str | None, what: str) -> str | None:
    """Optional free text; ValueError when too long or holding a control character (a
    NUL byte cannot reach PostgreSQL at all)."""
    text = (value or "").strip()
    if CONTROL.search(text):
        raise ValueError(f"{what} must not hold control characters")
    if len(text) > MAX_TEXT:
        raise ValueError(f"{what} must be at most {MAX_TEXT} characters")
    return text or None


def log_filters(
    process: str | None, level: str | None, text: str | None, run_id: int | None
) -> list[Filter]:
    filters: list[Filter] = []
    if process:
        filters.append(Filter("process", "eq", check_choice(process, LOG_PROCESSES, "process")))
    if level:
        filters.append(Filter("level", "eq", check_choice(level, LOG_LEVELS, "level")))
    if run_id is not None:
        filters.append(Filter("run_id", "eq", run_id))
    if text := check_text(text, "search"):
        filters.append(Filter("message", "ilike", like_pattern(text)))
    return filters


def run_filters(process: str | None, status: str | None) -> list[Filter]:
    filters: list[Filter] = []
    if process:
        filters.append(Filter("process", "eq", check_choice(process, RUN_PROCESSES, "process")))
    if status:
        filters.append(Filter("status", "eq", check_choice(status, RUN_STATUSES, "status")))
    return filters


def audit_filters(action: str | None, actor: str | None) -> list[Filter]:
    filters: list[Filter] = []
    if action := check_text(action, "action"):
        filters.append(Filter("action", "eq", action))
    if actor := check_text(actor, "admin"):
        filters.append(Filter("actor_email", "ilike", like_pattern(actor)))
    return filters


def _like_regex(pattern: str) -> re.Pattern[str]:
    """The regex of an ILIKE pattern whose `\\` escapes `%`, `_` and itself."""
    out, chars = [], iter(pattern)
    for ch in chars:
        if ch == "\\":
            out.append(re.escape(next(chars, "\\")))
        elif ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def _holds(value: Any, f: Filter) -> bool:
    if f.op == "is":
        return value is f.value
    if f.op == "in":
        return value in f.value
    if value is None:
        return False  # SQL: a comparison with NULL is never true
    if f.op == "ilike":
        return _like_regex(str(f.value)).fullmatch(str(value)) is not None
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "eq": operator.eq, "neq": operator.ne, "lt": operator.lt,
        "lte": operator.le, "gt": operator.gt, "gte": operator.ge,
    }  # fmt: skip
    return bool(compare[f.op](value, f.value))


def matches(row: Mapping[str, Any], filters: list[Filter]) -> bool:
    """True when `row` passes every filter, as the database would judge it: live pages
    filter the shared feed's new rows in memory with the same filters they query with."""
    return all(_holds(row.get(f.column), f) for f in filters)
