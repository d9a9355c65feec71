"""Contract suite: the Supabase adapters against a real Supabase project.

Runs only when SUPABASE_URL, SUPABASE_ANON_KEY and SUPABASE_SERVICE_ROLE_KEY are set
(see docs/supabase.md); the auth test also needs SUPABASE_TEST_EMAIL and
SUPABASE_TEST_PASSWORD of an admin user of that project. It writes only log lines
(`automation_logs`, process `system`, message starting with "contract test").

    SUPABASE_URL=... SUPABASE_ANON_KEY=... SUPABASE_SERVICE_ROLE_KEY=... \\
      .venv/bin/python -m pytest -m supabase_contract tests/contract
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest

from dashboard.auth.supabase_provider import SupabaseAuthProvider
from dashboard.backends.base import ANON, BackendError, Filter
from dashboard.backends.postgres import PostgresBackend
from dashboard.backends.supabase import SupabaseBackend
from dashboard.data.automation import get_automation_status, log_automation_event
from dashboard.data.queue import get_queue_statistics
from dashboard.live.supabase_source import SupabaseChangeSource
from dashboard.settings import Settings, load_settings

NEEDED = ("SUPABASE_URL", "SUPABASE_ANON_KEY", "SUPABASE_SERVICE_ROLE_KEY")
MISSING = [name for name in NEEDED if not os.environ.get(name)]

pytestmark = [
    pytest.mark.supabase_contract,
    pytest.mark.skipif(
        bool(MISSING),
        reason=f"no Supabase project: set {', '.join(MISSING)} to run (docs/supabase.md)",
    ),
]


@pytest.fixture
def settings() -> Settings:
    return load_settings()


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[SupabaseBackend]:
    backend = await SupabaseBackend.connect(settings)
    yield backend
    await backend.close()


async def test_queue_statistics_come_back_as_one_object(api: SupabaseBackend) -> None:
    stats = await get_queue_statistics(api)
    assert set(stats.counts) >= {"queued", "started", "deployed", "failed", "skipped"}


async def test_automation_status_comes_back_as_rows_for_both_processes(
    api: SupabaseBackend,
) -> None:
    rows = await get_automation_status(api)
    assert {r.process for r in rows} == {"identification", "implementation"}


async def test_a_scalar_function_returns_its_value(api: SupabaseBackend) -> None:
    log_id = await log_automation_event(api, "system", "info", "contract test: scalar")
    page = await api.select("automation_logs", filters=[Filter("id", "eq", log_id)], count=True)
    assert page.count == 1
    assert page.rows[0]["message"] == "contract test: scalar"


async def test_bad_input_is_22023_with_a_message(api: SupabaseBackend) -> None:
    with pytest.raises(BackendError) as err:
        await api.rpc("update_automation_config", {"p_changes": {"bogus": 1}, "p_updated_by": "ct"})
    assert err.value.code == "22023"
    assert "bogus" in err.value.message


async def test_anon_executes_nothing_and_reads_nothing(api: SupabaseBackend) -> None:
    with pytest.raises(BackendError) as err:
        await api.rpc("get_queue_statistics", caller=ANON)
    assert err.value.code == "42501"
    try:
        page = await api.select("pipeline_businesses", limit=1, caller=ANON)
    except BackendError as refused:
        assert refused.code == "42501"
    else:
        assert page.rows == []


async def test_a_committed_row_arrives_through_realtime(
    api: SupabaseBackend, settings: Settings
) -> None:
    source = SupabaseChangeSource.from_settings(settings, tables=("automation_logs",))
    await source.connect()
    try:
        changes = source.changes()
        await asyncio.sleep(1.0)  # Realtime confirms the replication subscription shortly after
        marker = f"contract test: realtime {uuid.uuid4().hex[:8]}"
        log_id = await log_automation_event(api, "system", "info", marker)

        async def until_seen() -> None:
            async for change in changes:
                if change["table"] == "automation_logs" and log_id in change["ids"]:
                    return

        await asyncio.wait_for(until_seen(), 15)
    finally:
        await source.close()


@pytest.mark.skipif(
    not (os.environ.get("SUPABASE_TEST_EMAIL") and os.environ.get("SUPABASE_TEST_PASSWORD")),
    reason="set SUPABASE_TEST_EMAIL and SUPABASE_TEST_PASSWORD of a project user to test sign-in",
)
async def test_an_admin_signs_in_at_aal1_and_sees_the_next_level(settings: Settings) -> None:
    db = PostgresBackend(settings.database_url or "postgresql://unused")  # sign-in never uses it
    provider = SupabaseAuthProvider.from_settings(settings, db)
    try:
        identity = await provider.sign_in_with_password(
            os.environ["SUPABASE_TEST_EMAIL"], os.environ["SUPABASE_TEST_PASSWORD"]
        )
        level = await provider.get_authenticator_assurance_level(identity)
        factors = await provider.list_factors(identity)
        assert level.current_level == "aal1"
        expected_next = "aal2" if any(f.status == "verified" for f in factors) else "aal1"
        assert level.next_level == expected_next
    finally:
        await provider.close()
