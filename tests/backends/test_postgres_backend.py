"""The PostgreSQL adapter's calls: one transaction each, as the caller, in one round trip."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest
from psycopg.pq import Trace

from dashboard.backends.base import ANON, BackendError, Caller
from dashboard.backends.postgres import PostgresBackend
from tests.factories import business_row

AAL1 = Caller(role="authenticated", sub="5d6f7c1e-2b3a-4c5d-8e9f-0a1b2c3d4e5f", aal="aal1")


async def places(backend: PostgresBackend) -> list[str]:
    async with backend.owner() as conn:
        cur = await conn.execute("select place_id from public.pipeline_businesses order by id")
        return [r["place_id"] for r in await cur.fetchall()]


async def test_an_insert_whose_last_row_fails_writes_none_of_them(
    backend: PostgresBackend,
) -> None:
    await backend.insert("pipeline_businesses", [business_row("kept")])
    with pytest.raises(BackendError) as err:
        await backend.insert(
            "pipeline_businesses",
            [business_row("new-1"), business_row("new-2"), business_row("kept")],
        )
    assert err.value.code == "23505"  # unique place_id
    assert await places(backend) == ["kept"]


async def test_the_rows_and_the_count_are_read_as_the_caller(backend: PostgresBackend) -> None:
    await backend.insert("pipeline_businesses", [business_row(f"p-{n}") for n in range(3)])
    page = await backend.select("pipeline_businesses", limit=1, count=True)
    assert (len(page.rows), page.count) == (1, 3)
    # an admin without MFA has the grant but RLS shows them no row, nor counts one
    page = await backend.select("pipeline_businesses", count=True, caller=AAL1)
    assert (page.rows, page.count) == ([], 0)
    with pytest.raises(BackendError) as err:
        await backend.select("pipeline_businesses", count=True, caller=ANON)
    assert err.value.code == "42501"


async def test_the_callers_role_ends_with_the_call(db_url: str) -> None:
    """After calls as other roles, failing or not, the pooled connection is the owner's
    again, outside any transaction."""
    backend = await PostgresBackend(db_url, max_size=1).open()
    try:
        with pytest.raises(BackendError):
            await backend.select("pipeline_businesses", caller=ANON)
        await backend.rpc("get_queue_statistics", caller=AAL1)
        async with backend.pool.connection() as conn:
            cur = await conn.execute(
                "select current_user as who, now() = statement_timestamp() as fresh"
            )
            row = await cur.fetchone()
            assert row == {"who": conn.info.user, "fresh": True}
            assert conn.info.transaction_status == 0  # idle
    finally:
        await backend.close()


async def test_an_unknown_function_is_named(backend: PostgresBackend) -> None:
    with pytest.raises(BackendError) as err:
        await backend.rpc("no_such_function")
    assert (err.value.code, err.value.message) == (
        "PGRST202",
        "function public.no_such_function does not exist",
    )


async def test_a_call_sends_one_sync_and_no_begin_or_commit(db_url: str) -> None:
    """What goes over the wire for one call (libpq's protocol trace): the role and the
    call, then a single Sync; no BEGIN and no COMMIT: one round trip (after the pool's
    liveness check, an empty query)."""
    backend = await PostgresBackend(db_url, max_size=1).open()
    trace = Path(tempfile.mkstemp(prefix="cstrace")[1])
    try:
        await backend.rpc("claim_next_business", {"p_worker_id": "w"})  # return kind cached
        async with backend.pool.connection() as conn:
            out = os.open(trace, os.O_WRONLY)
            conn.pgconn.trace(out)
            conn.pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS)
        await backend.rpc("claim_next_business", {"p_worker_id": "w"})
        async with backend.pool.connection() as conn:
            conn.pgconn.untrace()
            os.close(out)
        sent = [line for line in trace.read_text().splitlines() if line.startswith("F")]
        assert [line.split()[2] for line in sent if line.split()[2] == "Sync"] == ["Sync"]
        assert not [line for line in sent if re.search(r"\b(BEGIN|COMMIT)\b", line, re.I)]
        assert any("claim_next_business" in line for line in sent)
    finally:
        trace.unlink(missing_ok=True)
        await backend.close()
