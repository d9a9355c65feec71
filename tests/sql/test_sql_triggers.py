"""The 5 triggers: outreach on deploy (NOTIFY locally), updated_at, and command NOTIFY."""

from __future__ import annotations

import json
from collections.abc import Iterator

import psycopg
import pytest

from dashboard.backends.base import SERVICE
from dashboard.backends.postgres import PostgresBackend
from dashboard.data import automation
from tests.factories import deploy_one


@pytest.fixture
def listener(db_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("listen outreach_start")
        conn.execute("listen automation_commands")
        yield conn


def received(conn: psycopg.Connection[tuple[object, ...]]) -> list[tuple[str, dict[str, object]]]:
    return [(n.channel, json.loads(n.payload)) for n in conn.notifies(timeout=0.5, stop_after=None)]


async def test_a_deployed_site_asks_for_outreach(
    backend: PostgresBackend, listener: psycopg.Connection[tuple[object, ...]]
) -> None:
    site_id, uuid = await deploy_one(backend)
    assert received(listener) == [
        ("outreach_start", {"qualified_business_id": site_id, "uuid": uuid})
    ]


async def test_no_outreach_is_asked_when_it_is_disabled(
    backend: PostgresBackend, listener: psycopg.Connection[tuple[object, ...]]
) -> None:
    await automation.update_automation_config(
        backend, {"outreach_enabled": False}, "a@x.io", caller=SERVICE
    )
    await deploy_one(backend)
    assert received(listener) == []


async def test_redeploying_a_suspended_site_asks_again_but_other_updates_do_not(
    backend: PostgresBackend, listener: psycopg.Connection[tuple[object, ...]]
) -> None:
    site_id, _ = await deploy_one(backend)
    received(listener)
    async with backend.owner() as conn:
        await conn.execute("update public.qualified_businesses set name = 'Renamed'")
        await conn.execute("update public.qualified_businesses set site_status = 'suspended'")
    assert received(listener) == []
    async with backend.owner() as conn:
        await conn.execute("update public.qualified_businesses set site_status = 'deployed'")
    assert [c for c, _ in received(listener)] == ["outreach_start"]
    async with backend.owner() as conn:
        await conn.execute(
            "update public.qualified_businesses set site_status = 'suspended';"
            "update public.qualified_businesses set outreach_status = 'started';"
            "update public.qualified_businesses set site_status = 'deployed'"
        )
    assert received(listener) == []  # outreach already under way
    assert site_id


async def test_a_new_command_is_announced(
    backend: PostgresBackend, listener: psycopg.Connection[tuple[object, ...]]
) -> None:
    command = await automation.send_automation_command(
        backend, "identification", "run_once", caller=SERVICE
    )
    assert received(listener) == [
        ("automation_commands",
         {"id": command.id, "process": "identification", "command": "run_once"}),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("table", "change"),
    [
        ("pipeline_businesses", "priority = 3"),
        ("qualified_businesses", "name = 'New name'"),
        ("automation_config", "batch_size = 11"),
    ],
)
async def test_updates_stamp_updated_at(backend: PostgresBackend, table: str, change: str) -> None:
    await deploy_one(backend)
    async with backend.owner() as conn:
        cur = await conn.execute(f"select max(updated_at) as t from public.{table}")
        old = await cur.fetchone()
    async with backend.owner() as conn:
        await conn.execute(f"update public.{table} set {change}")
        cur = await conn.execute(f"select min(updated_at) as t, now() as now from public.{table}")
        new = await cur.fetchone()
    assert old is not None and new is not None
    assert new["t"] == new["now"] and new["t"] > old["t"]
