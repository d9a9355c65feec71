"""PostgreSQL adapter: psycopg 3 with a pool, each call run the way PostgREST runs it.

Every `rpc`/`select`/`insert`/`update` is one transaction that first does
`set_config('role', …, true)` and `set_config('request.jwt.claims', …, true)`, so the
grants and RLS policies of the migrations are exercised exactly as on Supabase. It
goes out in one round trip (see `_run`); `as_caller` is the same transaction for code
that reads between its statements.
`owner()` is the one door to the private schemas (`admin_private`, `auth`) that
PostgREST does not expose; only the server's own auth code uses it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from dashboard.backends.base import SERVICE, BackendError, Caller, Filter, Order, Page, Row

_OPS = {
    "eq": "=",
    "neq": "<>",
    "lt": "<",
    "lte": "<=",
    "gt": ">",
    "gte": ">=",
    "ilike": "ILIKE",
}

AsyncConn = psycopg.AsyncConnection[dict[str, Any]]
Statement = tuple[sql.Composed | sql.SQL | str, Sequence[Any]]

_AS_CALLER = "select set_config('role', %s, true), set_config('request.jwt.claims', %s, true)"


def adapt(value: Any) -> Any:
    """Wrap dicts and lists so they arrive as jsonb, as PostgREST would send them."""
    if isinstance(value, dict | list):
        return Jsonb(value)
    return value


def to_backend_error(exc: psycopg.Error) -> BackendError:
    diag = exc.diag
    return BackendError(
        exc.sqlstate or "XX000",
        diag.message_primary or str(exc),
        diag.message_detail,
        diag.message_hint,
    )


def _where(filters: Sequence[Filter]) -> tuple[sql.Composable, list[Any]]:
    parts: list[sql.Composable] = []
    params: list[Any] = []
    for f in filters:
        column = sql.Identifier(f.column)
        if f.op == "in":
            parts.append(sql.SQL("{} = any(%s)").format(column))
            params.append(list(f.value))
        elif f.op == "is":
            if f.value is None:
                parts.append(sql.SQL("{} is null").format(column))
            elif f.value is True or f.value is False:
                parts.append(sql.SQL("{} is " + ("true" if f.value else "false")).format(column))
            else:
                raise BackendError(
                    "22023", f"filter 'is' takes null, true or false, not {f.value!r}"
                )
        else:
            parts.append(sql.SQL("{} " + _OPS[f.op] + " %s").format(column))
            params.append(adapt(f.value))
    if not parts:
        return sql.SQL(""), params
    return sql.SQL(" where ") + sql.SQL(" and ").join(parts), params


def _columns(columns: str) -> sql.Composable:
    if columns.strip() == "*":
        return sql.SQL("*")
    return sql.SQL(", ").join(sql.Identifier(c.strip()) for c in columns.split(",") if c.strip())


class PostgresBackend:
    """The `Backend` over a psycopg pool; also the owner connection for private schemas."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self.url = url
        self.pool: AsyncConnectionPool[AsyncConn] = AsyncConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            open=False,
            kwargs={"row_factory": dict_row, "autocommit": True},
            check=AsyncConnectionPool.check_connection,
        )
        self._returns: dict[str, tuple[bool, str, str]] = {}

    async def open(self) -> PostgresBackend:
        await self.pool.open(wait=True, timeout=30)
        return self

    async def close(self) -> None:
        await self.pool.close()

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[AsyncConn]:
        """The connection one call runs on: a pooled one (`PinnedBackend`: its own)."""
        async with self.pool.connection() as conn:
            yield conn

    @asynccontextmanager
    async def as_caller(self, caller: Caller) -> AsyncIterator[AsyncConn]:
        """One transaction as `caller`, with PostgREST's role and claims.

        In pipeline mode: BEGIN, the role and claims and the caller's statements go out
        together and come back when the caller first fetches, and COMMIT with the sync
        at the end, so a call takes two round trips instead of four. An error surfaces
        at that fetch (or at the end) and rolls the whole transaction back."""
        async with self._connection() as conn:
            try:
                async with conn.pipeline(), conn.transaction():
                    await conn.execute(_AS_CALLER, (caller.role, caller.claims()))
                    yield conn
            except psycopg.Error as exc:
                raise to_backend_error(exc) from exc

    async def _run(self, caller: Caller, statements: Sequence[Statement]) -> list[list[Row]]:
        """`statements` as `caller` in one transaction and one round trip; each one's rows.

        The role and claims and the statements go out in pipeline mode with a single
        Sync after them and no BEGIN: the extended protocol runs everything before a Sync
        as one implicit transaction, commits it at the Sync, or rolls all of it back if a
        statement fails (PostgreSQL's protocol docs, "Pipelining"). `as_caller` needs
        two round trips (its reads flush, COMMIT syncs) and sends BEGIN and COMMIT too;
        a worker's claim from Python took 1.33 ms through it, 0.80 ms this way
        (docs/PERFORMANCE.md, "Claims")."""
        async with self._connection() as conn:
            try:
                async with conn.pipeline():
                    await conn.execute(_AS_CALLER, (caller.role, caller.claims()))
                    cursors = [await conn.execute(query, params) for query, params in statements]
                # the pipeline's exit sent the Sync and collected every result
                return [await cur.fetchall() if cur.description else [] for cur in cursors]
            except psycopg.Error as exc:
                raise to_backend_error(exc) from exc

    @asynccontextmanager
    async def owner(self) -> AsyncIterator[AsyncConn]:
        """One transaction as the connecting (owner) role, for `admin_private` and `auth`."""
        async with self._connection() as conn:
            try:
                async with conn.transaction():
                    yield conn
            except psycopg.Error as exc:
                raise to_backend_error(exc) from exc

    async def _return_kind(self, fn: str) -> tuple[bool, str, str]:
        """Whether `fn` returns a set, its return type's kind and name; read once."""
        if fn not in self._returns:
            async with self._connection() as conn:
                cur = await conn.execute(
                    "select p.proretset, t.typtype::text, t.typname::text from pg_proc p"
                    " join pg_type t on t.oid = p.prorettype"
                    " where p.pronamespace = 'public'::regnamespace and p.proname = %s",
                    (fn,),
                )
                row = await cur.fetchone()
            if row is None:
                raise BackendError("PGRST202", f"function public.{fn} does not exist")
            self._returns[fn] = (row["proretset"], row["typtype"], row["typname"])
        return self._returns[fn]

    async def rpc(
        self, fn: str, params: Mapping[str, Any] | None = None, *, caller: Caller = SERVICE
    ) -> Any:
        params = dict(params or {})
        args = sql.SQL(", ").join(
            sql.SQL("{} => %s").format(sql.Identifier(name)) for name in params
        )
        values = [adapt(v) for v in params.values()]
        retset, typtype, typname = await self._return_kind(fn)
        call = sql.SQL("public.{}({})").format(sql.Identifier(fn), args)
        if retset or typtype == "c":
            [rows] = await self._run(caller, [(sql.SQL("select * from ") + call, values)])
            if retset:
                return rows
            if not rows or all(v is None for v in rows[0].values()):
                return None
            return rows[0]
        [rows] = await self._run(caller, [(sql.SQL("select ") + call + sql.SQL(" as v"), values)])
        return None if typname == "void" or not rows else rows[0]["v"]

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
        where, params = _where(filters)
        query = sql.SQL("select {} from public.{}").format(_columns(columns), sql.Identifier(table))
        query += where
        if order:
            query += sql.SQL(" order by ") + sql.SQL(", ").join(
                sql.SQL("{} " + ("desc" if o.desc else "asc")).format(sql.Identifier(o.column))
                for o in order
            )
        if limit is not None:
            query += sql.SQL(" limit %s")
        statements: list[Statement] = [(query, [*params, limit] if limit is not None else params)]
        if count:
            count_query = sql.SQL("select count(*) as n from public.{}").format(
                sql.Identifier(table)
            )
            statements.append((count_query + where, params))
        rows, *counted = await self._run(caller, statements)
        total = int(counted[0][0]["n"]) if counted else None
        return Page(rows=rows, count=total)

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
        names = list(rows[0].keys())
        if any(list(r.keys()) != names for r in rows):
            raise BackendError("PGRST102", "all rows of one insert must have the same columns")
        query = sql.SQL("insert into public.{} ({}) values ({})").format(
            sql.Identifier(table),
            sql.SQL(", ").join(map(sql.Identifier, names)),
            sql.SQL(", ").join(sql.Placeholder() * len(names)),
        )
        if on_conflict:
            target = sql.SQL(", ").join(sql.Identifier(c.strip()) for c in on_conflict.split(","))
            if ignore_duplicates:
                query += sql.SQL(" on conflict ({}) do nothing").format(target)
            else:
                query += sql.SQL(" on conflict ({}) do update set {}").format(
                    target,
                    sql.SQL(", ").join(
                        sql.SQL("{} = excluded.{}").format(sql.Identifier(n), sql.Identifier(n))
                        for n in names
                    ),
                )
        query += sql.SQL(" returning *")
        results = await self._run(caller, [(query, [adapt(r[n]) for n in names]) for r in rows])
        return [row for inserted in results for row in inserted]

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
        where, params = _where(filters)
        query = sql.SQL("update public.{} set {}").format(
            sql.Identifier(table),
            sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(k)) for k in values),
        )
        query += where + sql.SQL(" returning *")
        [rows] = await self._run(caller, [(query, [*(adapt(v) for v in values.values()), *params])])
        return rows
