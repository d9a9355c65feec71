"""The backend protocol every data function talks through, and the caller it acts as.

A call runs the way PostgREST runs a request: as a database role (`anon`,
`authenticated`, `service_role`) with JWT claims, so grants and RLS apply for real.
`rpc` returns what PostgREST would: a list of row dicts for set-returning functions,
one dict (or None) for a composite, and the plain value for a scalar (jsonb arrives
as Python objects).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Role = Literal["anon", "authenticated", "service_role"]
Aal = Literal["aal1", "aal2"]
FilterOp = Literal["eq", "neq", "lt", "lte", "gt", "gte", "in", "ilike", "is"]
Row = dict[str, Any]


@dataclass(frozen=True)
class Caller:
    """Who a call runs as: the role and the JWT claims PostgREST would set."""

    role: Role = "service_role"
    sub: str | None = None
    email: str | None = None
    aal: Aal | None = None
    #: `app_metadata.cliftonsites_admin` in the token: what Supabase sets on admins
    admin_flag: bool = False

    def claims(self) -> str:
        claims: dict[str, Any] = {"role": self.role}
        if self.admin_flag:
            claims["app_metadata"] = {"cliftonsites_admin": True}
        if self.sub:
            claims["sub"] = self.sub
        if self.email:
            claims["email"] = self.email
        if self.aal:
            claims["aal"] = self.aal
        return json.dumps(claims)


SERVICE = Caller()
ANON = Caller(role="anon")


@dataclass(frozen=True)
class Filter:
    """One PostgREST-style filter: `column op value` (`in` takes a sequence)."""

    column: str
    op: FilterOp
    value: Any


@dataclass(frozen=True)
class Order:
    column: str
    desc: bool = False


@dataclass
class Page:
    """A page of rows plus the exact count when it was asked for."""

    rows: list[Row]
    count: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class BackendError(RuntimeError):
    """A database error in PostgREST's shape: SQLSTATE code, message, detail and hint."""

    def __init__(
        self, code: str, message: str, detail: str | None = None, hint: str | None = None
    ) -> None:
        super().__init__(f"{message} ({code})")
        self.code = code
        self.message = message
        self.detail = detail
        self.hint = hint

    @property
    def is_invalid_input(self) -> bool:
        """True for input the caller can fix: bad values, constraints, raised errors."""
        return self.code.startswith(("22", "23")) or self.code in {"P0001", "42501", "P0002"}


@runtime_checkable
class Backend(Protocol):
    """The only way data functions reach the database."""

    async def rpc(
        self, fn: str, params: Mapping[str, Any] | None = None, *, caller: Caller = SERVICE
    ) -> Any: ...

    async def select(
        self,
        table: str,
        *,
        columns: str = "*",
        filters: Sequence[Filter] = (),
        order: Sequence[Order] = (),
        limit: int | None = None,
        count: bool = False,
        caller: Caller = SERVICE,
    ) -> Page: ...

    async def insert(
        self,
        table: str,
        rows: Sequence[Mapping[str, Any]],
        *,
        on_conflict: str | None = None,
        ignore_duplicates: bool = False,
        caller: Caller = SERVICE,
    ) -> list[Row]: ...

    async def update(
        self,
        table: str,
        values: Mapping[str, Any],
        *,
        filters: Sequence[Filter],
        caller: Caller = SERVICE,
    ) -> list[Row]: ...

    async def close(self) -> None: ...
