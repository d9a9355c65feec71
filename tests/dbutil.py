"""Test helpers for real PostgreSQL servers: fresh migrated databases, a fast reset, one
statement on its own connection, and polling until a condition holds (`wait_until` in
sync code, `eventually` in async tests, which must not block the event loop)."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.rows import dict_row

from dashboard.backends.migrate import migrate


def with_dbname(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + dbname))


def create_database(admin_url: str, prefix: str = "cs_test") -> str:
    """Create an empty database on the server of `admin_url`; return its URL."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    return with_dbname(admin_url, name)


def drop_database(admin_url: str, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def create_migrated_database(admin_url: str) -> str:
    url = create_database(admin_url)
    migrate(url)
    return url


RESET_SQL = """
do $$
declare v_tables text;
begin
  select string_agg(format('%I.%I', schemaname, tablename), ', ') into v_tables
    from pg_tables where schemaname in ('public', 'admin_private', 'auth');
  if v_tables is not null then
    execute 'truncate ' || v_tables || ' restart identity cascade';
  end if;
end $$;
insert into public.automation_config default values;
insert into public.automation_status (process) values ('identification'), ('implementation');
"""


def reset_database(url: str) -> None:
    """Empty every table and restore the rows the migrations insert."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(RESET_SQL)


def sql(url: str, query: str, params: Any = None) -> list[dict[str, Any]]:
    """One statement on its own connection, committed at once (the 'other connection')."""
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def wait_until(
    check: Callable[[], Any], timeout: float, what: str = "condition", every: float = 0.02
) -> Any:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(every)


async def eventually(
    check: Callable[[], Any], timeout: float, what: str = "condition", every: float = 0.02
) -> Any:
    """`wait_until` for async tests: poll `check` while the event loop keeps running."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        await asyncio.sleep(every)
