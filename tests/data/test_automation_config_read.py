"""The automation config is read in one place (`data.automation.get_automation_config`):
the config page, the worker, the outreach sweeper and reconciliation all see the same
row, and a database without it says what to do."""

from __future__ import annotations

import pytest

from dashboard.backends.postgres import PostgresBackend
from dashboard.data.automation import get_automation_config
from dashboard.outreach.background import due_for_outreach
from tests.dbutil import sql


async def test_the_one_read_returns_the_typed_row(db_url: str, backend: PostgresBackend) -> None:
    sql(db_url, "update public.automation_config set outreach_sweep_minutes = 7")
    config = await get_automation_config(backend)
    assert config.outreach_sweep_minutes == 7 and config.max_attempts >= 1


async def test_a_missing_row_says_to_run_the_migrations(
    db_url: str, backend: PostgresBackend
) -> None:
    sql(db_url, "delete from public.automation_config")
    with pytest.raises(RuntimeError, match="cliftonsites db migrate"):
        await get_automation_config(backend)


async def test_the_sweeper_reads_its_switch_through_it(
    db_url: str, backend: PostgresBackend
) -> None:
    sql(db_url, "update public.automation_config set outreach_enabled = false")
    assert await due_for_outreach(backend) == []
