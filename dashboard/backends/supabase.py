"""Supabase adapter: the `Backend` protocol over supabase-py's async client (PostgREST).

Each call is one PostgREST request, so it runs exactly as the PostgreSQL adapter
imitates: as the role of its `Caller`, with grants and RLS applied by the project.

How a `Caller` becomes request headers:
- `service_role`: the client's own headers, `apikey` and `Authorization: Bearer`
  with the service-role key (it bypasses RLS; the server uses it after checking
  the admin's session);
- `anon`: `apikey` and `Authorization` with the anon key;
- `authenticated`: `apikey` anon key and `Authorization: Bearer <the admin's access
  token>`, found through the token lookup that the Supabase auth provider installs
  with `use_access_tokens()`. There is no lookup, or no token, → PGRST301.

Headers are set on each request, never on the shared client, so concurrent calls
as different callers cannot leak into each other. Never sign in on this client:
supabase-py would then send that admin's token on every service call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

import httpx
from postgrest import APIError

from dashboard.backends.base import SERVICE, BackendError, Caller, Filter, Order, Page, Row
from dashboard.settings import Settings, SettingsError
from supabase import AsyncClient, AsyncClientOptions, acreate_client

#: Finds the current access token of an authenticated caller (by `sub`), or None.
TokenLookup = Callable[[Caller], Awaitable[str | None]]
B = TypeVar("B")

DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)


def to_backend_error(exc: APIError) -> BackendError:
    """PostgREST's error JSON `{code, message, details, hint}` as a BackendError."""
    details = exc.details
    if details is not None and not isinstance(details, str):
        details = str(details)
    return BackendError(
        str(exc.code or "PGRST000"),
        exc.message or "Supabase refused the request without a message",
        details or None,
        exc.hint or None,
    )


def jsonable(value: Any) -> Any:
    """Values PostgREST accepts in a JSON body (Decimal and UUID as strings)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def rpc_result(data: Any) -> Any:
    """PostgREST's RPC body in the PostgreSQL adapter's shapes.

    An array is a set-returning function's rows; an object is a composite (None when
    every field is null, as PostgREST sends a null composite); anything else is a
    scalar.
    """
    if isinstance(data, dict) and data and all(v is None for v in data.values()):
        return None
    return data


def apply_filters(builder: B, filters: Sequence[Filter]) -> B:
    """Add each filter as PostgREST query parameters (`col=eq.x`, `col=in.(a,b)`)."""
    for f in filters:
        value = jsonable(f.value)
        if f.op == "in":
            builder = builder.in_(f.column, list(value))  # type: ignore[attr-defined]
        elif f.op == "is":
            if value is not None and not isinstance(value, bool):
                raise BackendError(
                    "22023", f"filter 'is' takes null, true or false, not {f.value!r}"
                )
            builder = builder.is_(f.column, value)  # type: ignore[attr-defined]
        elif f.op == "ilike":
            builder = builder.ilike(f.column, str(value))  # type: ignore[attr-defined]
        else:
            builder = getattr(builder, f.op)(f.column, value)
    return builder


def same_columns(rows: Sequence[Mapping[str, Any]]) -> None:
    names = list(rows[0].keys())
    if any(list(r.keys()) != names for r in rows):
        raise BackendError("PGRST102", "all rows of one insert must have the same columns")


class SupabaseBackend:
    """The `Backend` over a Supabase project's REST API (PostgREST)."""

    def __init__(
        self,
        client: AsyncClient,
        http: httpx.AsyncClient,
        *,
        anon_key: str,
        access_tokens: TokenLookup | None = None,
    ) -> None:
        self.client = client
        self.http = http
        self.anon_key = anon_key
        self.access_tokens = access_tokens

    @classmethod
    async def connect(
        cls, settings: Settings, *, http: httpx.AsyncClient | None = None
    ) -> SupabaseBackend:
        """A backend for `SUPABASE_URL` with the service-role key; owns `http` from now on."""
        settings.require("SUPABASE_URL", "SUPABASE_ANON_KEY", "SUPABASE_SERVICE_ROLE_KEY")
        assert settings.supabase_url and settings.supabase_anon_key
        assert settings.supabase_service_role_key
        http = http or httpx.AsyncClient(http2=True, timeout=DEFAULT_TIMEOUT)
        options = AsyncClientOptions(
            httpx_client=http, persist_session=False, auto_refresh_token=False
        )
        try:
            client = await acreate_client(
                settings.supabase_url, settings.supabase_service_role_key, options=options
            )
        except Exception as exc:
            await http.aclose()
            raise SettingsError(f"SUPABASE_URL / keys were refused by supabase-py: {exc}") from exc
        return cls(client, http, anon_key=settings.supabase_anon_key)

    def use_access_tokens(self, lookup: TokenLookup) -> None:
        """Install how authenticated callers' access tokens are found (the auth provider)."""
        self.access_tokens = lookup

    async def close(self) -> None:
        await self.http.aclose()

    async def _headers(self, caller: Caller) -> dict[str, str]:
        if caller.role == "service_role":
            return {}
        if caller.role == "anon":
            return {"apikey": self.anon_key, "Authorization": f"Bearer {self.anon_key}"}
        token = await self.access_tokens(caller) if self.access_tokens else None
        if not token:
            raise BackendError(
                "PGRST301",
                f"no Supabase access token for the authenticated caller {caller.sub or '?'}",
                hint="sign in again: the admin's Supabase session is missing or has ended",
            )
        return {"apikey": self.anon_key, "Authorization": f"Bearer {token}"}

    async def _execute(self, builder: Any, caller: Caller) -> Any:
        """Send one request as `caller`; PostgREST and network errors become BackendError."""
        builder.request.headers.update(await self._headers(caller))
        try:
            return await builder.execute()
        except APIError as exc:
            raise to_backend_error(exc) from exc
        except httpx.TransportError as exc:
            raise BackendError(
                "08006",
                f"could not reach Supabase at {self.client.supabase_url}: {exc}",
                hint="check SUPABASE_URL and the network",
            ) from exc

    async def rpc(
        self, fn: str, params: Mapping[str, Any] | None = None, *, caller: Caller = SERVICE
    ) -> Any:
        builder = self.client.rpc(fn, jsonable(dict(params or {})))
        response = await self._execute(builder, caller)
        return rpc_result(response.data)

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
    ) -> Page:
        builder = self.client.table(table).select(columns, count="exact" if count else None)  # type: ignore[arg-type]
        builder = apply_filters(builder, filters)
        for o in order:
            builder = builder.order(o.column, desc=o.desc)
        if limit is not None:
            builder = builder.limit(limit)
        response = await self._execute(builder, caller)
        return Page(rows=list(response.data), count=response.count if count else None)

    async def insert(
        self,
        table: str,
        rows: Sequence[Mapping[str, Any]],
        *,
        on_conflict: str | None = None,
        ignore_duplicates: bool = False,
        caller: Caller = SERVICE,
    ) -> list[Row]:
        if not rows:
            return []
        same_columns(rows)
        body = [jsonable(row) for row in rows]
        query = self.client.table(table)
        if on_conflict:
            builder = query.upsert(
                body, on_conflict=on_conflict, ignore_duplicates=ignore_duplicates
            )
        else:
            builder = query.insert(body)
        response = await self._execute(builder, caller)
        return list(response.data)

    async def update(
        self,
        table: str,
        values: Mapping[str, Any],
        *,
        filters: Sequence[Filter],
        caller: Caller = SERVICE,
    ) -> list[Row]:
        if not filters:
            raise BackendError("21000", "update without a filter is refused (PostgREST does too)")
        builder = apply_filters(self.client.table(table).update(jsonable(values)), filters)
        response = await self._execute(builder, caller)
        return list(response.data)
