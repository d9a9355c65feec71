"""Trigger `outreach_on_deployed` on Supabase: with pg_net present and the app's URL set,
it POSTs to `/api/outreach/start-campaign` with the Bearer token instead of NOTIFYing.

pg_net (Supabase's extension) is not available on plain PostgreSQL, so a stand-in
`net.http_post` with pg_net's signature records the calls it would send: the outside
world is mocked, our trigger is real."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import psycopg
import pytest

from dashboard.backends.base import SERVICE
from dashboard.backends.postgres import PostgresBackend
from dashboard.data import automation
from tests.dbutil import create_migrated_database, drop_database
from tests.factories import deploy_one

URL = "https://admin.example.com/api/outreach/start-campaign"
SECRET = "trigger-secret-for-pg-net"

# pg_net's signature, and the access Supabase's `extensions.grant_pg_net_access()` event
# trigger gives when pg_net is enabled: usage on schema net and execute on net.http_post
# for the API roles, the function running as its owner.
PG_NET_STAND_IN = """
create schema net;
create table net.calls (id bigserial primary key, url text, body jsonb, headers jsonb);
create function net.http_post(
  url text, body jsonb default '{}'::jsonb, params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint language sql security definer set search_path = '' as $$
  insert into net.calls (url, body, headers) values (url, body, headers) returning id
$$;
grant usage on schema net to anon, authenticated, service_role;
grant execute on function net.http_post(text, jsonb, jsonb, jsonb, integer)
  to anon, authenticated, service_role;
"""


@pytest.fixture
async def supabase_like(embedded_admin_url: str) -> AsyncIterator[tuple[str, PostgresBackend]]:
    url = create_migrated_database(embedded_admin_url)
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(PG_NET_STAND_IN)
        conn.execute(f"alter database \"{name}\" set app.settings.outreach_trigger_url = '{URL}'")
        conn.execute(
            f"alter database \"{name}\" set app.settings.outreach_trigger_secret = '{SECRET}'"
        )
    backend = await PostgresBackend(url).open()
    yield url, backend
    await backend.close()
    drop_database(embedded_admin_url, url)


def calls_and_notices(
    url: str,
) -> tuple[list[tuple[str, dict[str, object], dict[str, object]]], int]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("select url, body, headers from net.calls order by id").fetchall()
    return [(r[0], r[1], r[2]) for r in rows], len(rows)


async def test_a_deployed_site_is_posted_through_pg_net_with_the_bearer_token(
    supabase_like: tuple[str, PostgresBackend],
) -> None:
    url, backend = supabase_like
    with psycopg.connect(url, autocommit=True) as listener:
        listener.execute("listen outreach_start")
        site_id, uuid = await deploy_one(backend)
        notices = list(listener.notifies(timeout=0.5, stop_after=None))
    calls, _ = calls_and_notices(url)
    assert calls == [
        (
            URL,
            {"qualified_business_id": site_id, "uuid": uuid},
            {"Content-Type": "application/json", "Authorization": f"Bearer {SECRET}"},
        )
    ]
    assert notices == [], "with pg_net the trigger must not also NOTIFY"


async def test_nothing_is_posted_while_outreach_is_disabled(
    supabase_like: tuple[str, PostgresBackend],
) -> None:
    url, backend = supabase_like
    await automation.update_automation_config(
        backend, {"outreach_enabled": False}, "a@x.io", caller=SERVICE
    )
    await deploy_one(backend)
    assert calls_and_notices(url)[1] == 0


async def test_without_the_url_setting_it_falls_back_to_notify(
    supabase_like: tuple[str, PostgresBackend],
) -> None:
    url, backend = supabase_like
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'alter database "{name}" reset app.settings.outreach_trigger_url')
    await backend.close()
    backend = await PostgresBackend(url).open()  # new sessions see the reset setting
    try:
        with psycopg.connect(url, autocommit=True) as listener:
            listener.execute("listen outreach_start")
            site_id, _ = await deploy_one(backend)
            payloads = [
                json.loads(n.payload) for n in listener.notifies(timeout=0.5, stop_after=None)
            ]
    finally:
        await backend.close()
    assert calls_and_notices(url)[1] == 0
    assert [p["qualified_business_id"] for p in payloads] == [site_id]
