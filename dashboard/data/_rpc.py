"""Turning what `Backend.rpc` returns into typed rows, the same way for every module."""

from __future__ import annotations

from typing import Any, TypeVar

from dashboard.backends.base import BackendError
from dashboard.data.models import Row

M = TypeVar("M", bound=Row)


def many(model: type[M], value: Any) -> list[M]:
    """A set-returning function's rows (a list of dicts) as models."""
    if value is None:
        return []
    if isinstance(value, dict):
        value = [value]
    return [model.model_validate(row) for row in value]


def first(model: type[M], value: Any) -> M | None:
    """The 0-or-1 row of a `setof` function, or a composite that may be null."""
    rows = many(model, value)
    return rows[0] if rows else None


def one(model: type[M], value: Any, fn: str) -> M:
    """The one row a composite-returning function must give back."""
    row = first(model, value)
    if row is None:
        raise BackendError("PGRST116", f"{fn} returned no row where one was expected")
    return row


def integer(value: Any, fn: str) -> int:
    """A scalar integer result (PostgREST sends it as a JSON number)."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, dict) and len(value) == 1:
        value = next(iter(value.values()))
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BackendError("PGRST116", f"{fn} returned {value!r} where an integer was expected")
    return int(value)
