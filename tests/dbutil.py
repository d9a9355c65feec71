"""Test helpers for real PostgreSQL servers: fresh migrated databases and a fast reset."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit, urlunsplit

import psycopg

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
