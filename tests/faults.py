"""Real database failures for tests: nothing mocked, a trigger that refuses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
import pytest

from dashboard.runtime import Runtime

REFUSE_AUDIT = """
create schema if not exists test_faults;
create or replace function test_faults.refuse_audit() returns trigger
  language plpgsql as $$ begin raise exception 'the audit log is unavailable'; end $$;
create trigger refuse_audit before insert on public.admin_audit_log
  for each row when ({when}) execute function test_faults.refuse_audit();
"""


@asynccontextmanager
async def audit_refusing(runtime: Runtime, when: str = "true") -> AsyncIterator[None]:
    """The audit log refuses the inserts `when` holds for (a real database failure,
    nothing mocked)."""
    async with await psycopg.AsyncConnection.connect(runtime.database_url, autocommit=True) as conn:
        await conn.execute(REFUSE_AUDIT.format(when=when))
        try:
            yield
        finally:
            await conn.execute("drop trigger refuse_audit on public.admin_audit_log")
            await conn.execute("drop schema test_faults cascade")


def expect_logged_errors(caplog: pytest.LogCaptureFixture, text: str) -> None:
    """The ERROR lines logged so far are all about `text` (at least one), and expected:
    they are taken out, since NiceGUI's User fixture fails a test on any ERROR log."""
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert errors and all(text in str(r.exc_info) for r in errors), errors
    caplog.clear()
