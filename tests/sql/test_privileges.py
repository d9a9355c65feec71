"""The hardened privilege matrix and Supabase's security advisor, read from the catalog so
that a new table, view or function cannot slip through; then real calls proving RLS."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest

from dashboard.backends.base import ANON, BackendError, Caller
from dashboard.backends.postgres import PostgresBackend

ROLES = ("anon", "authenticated", "service_role")
TABLES = {
    "identification_targets", "pipeline_businesses", "qualified_businesses", "automation_config",
    "automation_status", "automation_commands", "automation_runs", "automation_logs",
    "stripe_events", "stripe_idempotency", "outreach_events", "admin_audit_log",
}  # fmt: skip
ADMIN_READABLE = {
    "automation_config", "automation_status", "automation_commands", "automation_runs",
    "automation_logs", "identification_targets", "pipeline_businesses",
}  # fmt: skip
VIEWS = {"v_queue_status", "v_identification_progress"}
FUNCTIONS = {
    "get_queue_statistics", "get_current_identification_target", "get_automation_status",
    "claim_next_business", "send_automation_command", "update_automation_config",
    "advance_identification_position", "mark_business_deployed",
    "reset_stale_started_businesses", "get_existing_businesses_for_target",
    "mark_business_failed", "claim_next_command", "complete_automation_command",
    "report_automation_heartbeat", "start_automation_run", "finish_automation_run",
    "log_automation_event", "get_dashboard_snapshot", "get_throughput_timeseries",
    "get_conversion_funnel", "search_businesses", "record_stripe_event",
    "mark_business_claimed", "record_outreach_event", "set_outreach_status",
}  # fmt: skip
ADMIN_FUNCTIONS = {
    "get_queue_statistics",
    "get_current_identification_target",
    "get_automation_status",
}
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")

ADMIN_SUB = "5d6f7c1e-2b3a-4c5d-8e9f-0a1b2c3d4e5f"
AAL1 = Caller(role="authenticated", sub=ADMIN_SUB, email="admin@example.com", aal="aal1")
AAL2 = Caller(
    role="authenticated", sub=ADMIN_SUB, email="admin@example.com", aal="aal2", admin_flag=True
)
#: Any other user of the Supabase project, who set up TOTP on their own.
AAL2_NOT_ADMIN = Caller(
    role="authenticated", sub="0e1d2c3b-4a59-4687-9a0b-1c2d3e4f5a6b", email="user@example.com",
    aal="aal2",
)  # fmt: skip
AAL1_ADMIN = Caller(
    role="authenticated", sub=ADMIN_SUB, email="admin@example.com", aal="aal1", admin_flag=True
)


@pytest.fixture
def catalog(db_url: str) -> psycopg.Connection[Any]:
    with psycopg.connect(db_url) as conn:
        yield conn


def rows(conn: psycopg.Connection[Any], query: str) -> list[tuple[Any, ...]]:
    return conn.execute(query).fetchall()


# The matrix ----------------------------------------------------------------------------


def test_public_holds_exactly_the_12_tables_2_views_and_25_functions(
    catalog: psycopg.Connection[Any],
) -> None:
    relations = rows(
        catalog,
        "select relname, relkind from pg_class where relnamespace = 'public'::regnamespace"
        " and relkind in ('r', 'v', 'm', 'p', 'f')",
    )
    assert {n for n, k in relations if k == "r"} == TABLES
    assert {n for n, k in relations if k == "v"} == VIEWS
    assert {k for _, k in relations} == {"r", "v"}
    functions = rows(
        catalog,
        "select proname, prorettype = 'trigger'::regtype from pg_proc"
        " where pronamespace = 'public'::regnamespace",
    )
    plain = [n for n, is_trigger in functions if not is_trigger]
    assert sorted(plain) == sorted(FUNCTIONS)  # no overloads either
    assert {n for n, t in functions if t} == {
        "outreach_on_deployed", "set_updated_at", "notify_automation_command",
    }  # fmt: skip


def test_each_function_is_executable_exactly_per_the_matrix(
    catalog: psycopg.Connection[Any],
) -> None:
    functions = rows(
        catalog,
        "select p.oid::regprocedure::text, p.proname, p.prorettype = 'trigger'::regtype,"
        " has_function_privilege('anon', p.oid, 'execute'),"
        " has_function_privilege('authenticated', p.oid, 'execute'),"
        " has_function_privilege('service_role', p.oid, 'execute')"
        " from pg_proc p where p.pronamespace = 'public'::regnamespace",
    )
    assert len(functions) == 28
    for signature, name, is_trigger, anon, authenticated, service in functions:
        expected = (False, False, False) if is_trigger else (False, name in ADMIN_FUNCTIONS, True)
        assert (anon, authenticated, service) == expected, signature


def test_each_table_and_view_grants_exactly_per_the_matrix(
    catalog: psycopg.Connection[Any],
) -> None:
    relations = rows(
        catalog,
        "select relname, relkind from pg_class where relnamespace = 'public'::regnamespace"
        " and relkind in ('r', 'v')",
    )
    for name, kind in relations:
        for privilege in TABLE_PRIVILEGES:
            granted = {
                role: catalog.execute(
                    "select has_table_privilege(%s, format('public.%%I', %s::text), %s)",
                    [role, name, privilege],
                ).fetchone()[0]  # type: ignore[index]
                for role in ROLES
            }
            if kind == "v":
                expected = {"anon": False, "authenticated": privilege == "SELECT",
                            "service_role": privilege == "SELECT"}  # fmt: skip
            else:
                # service_role keeps Supabase's defaults, but the audit log is append-only
                service = not (
                    name == "admin_audit_log" and privilege in {"UPDATE", "DELETE", "TRUNCATE"}
                )
                expected = {
                    "anon": False,
                    "authenticated": privilege == "SELECT" and name in ADMIN_READABLE,
                    "service_role": service,
                }
            assert granted == expected, (name, privilege)


def test_no_sequence_is_usable_by_anon_or_authenticated(catalog: psycopg.Connection[Any]) -> None:
    usable = rows(
        catalog,
        "select c.relname, r from pg_class c, unnest(array['anon', 'authenticated']) r"
        " where c.relnamespace = 'public'::regnamespace and c.relkind = 'S'"
        " and (has_sequence_privilege(r, c.oid, 'usage')"
        " or has_sequence_privilege(r, c.oid, 'select'))",
    )
    assert usable == []


# Supabase's security advisor, as catalog queries --------------------------------------


def test_no_function_has_a_mutable_search_path(catalog: psycopg.Connection[Any]) -> None:
    mutable = rows(
        catalog,
        "select proname from pg_proc where pronamespace = 'public'::regnamespace"
        " and not coalesce(proconfig::text[] && array['search_path=\"\"', 'search_path='], false)",
    )
    assert mutable == []


def test_every_public_table_has_rls(catalog: psycopg.Connection[Any]) -> None:
    assert (
        rows(
            catalog,
            "select relname from pg_class where relnamespace = 'public'::regnamespace"
            " and relkind = 'r' and not relrowsecurity",
        )
        == []
    )


def test_every_view_is_security_invoker(catalog: psycopg.Connection[Any]) -> None:
    options = rows(
        catalog,
        "select relname, coalesce(reloptions, '{}') from pg_class"
        " where relnamespace = 'public'::regnamespace and relkind = 'v'",
    )
    assert len(options) == 2
    for name, reloptions in options:
        assert "security_invoker=true" in reloptions, name


def test_no_security_definer_function_is_executable_by_api_roles(
    catalog: psycopg.Connection[Any],
) -> None:
    assert (
        rows(
            catalog,
            "select p.proname from pg_proc p where p.prosecdef"
            " and p.pronamespace = 'public'::regnamespace"
            " and (has_function_privilege('anon', p.oid, 'execute')"
            " or has_function_privilege('authenticated', p.oid, 'execute'))",
        )
        == []
    )
    # ours are all invoker
    assert (
        rows(
            catalog,
            "select proname from pg_proc where pronamespace = 'public'::regnamespace and prosecdef",
        )
        == []
    )


def test_policies_call_auth_functions_through_a_select(catalog: psycopg.Connection[Any]) -> None:
    policies = rows(
        catalog,
        "select tablename, policyname, coalesce(qual, '') || ' ' || coalesce(with_check, '')"
        " from pg_policies where schemaname = 'public'",
    )
    assert policies, "the admin-readable tables have policies"
    for table, name, expression in policies:
        calls = len(re.findall(r"auth\.(?:jwt|uid|role)\(\)", expression))
        wrapped = len(re.findall(r"SELECT auth\.(?:jwt|uid|role)\(\)", expression))
        assert calls == wrapped, (table, name, expression)
        assert expression.strip() not in {"true", "(true)"}, (table, name)


def test_no_role_has_two_permissive_policies_for_one_action(
    catalog: psycopg.Connection[Any],
) -> None:
    assert (
        rows(
            catalog,
            "select tablename, role, action, count(*) from pg_policies p,"
            " unnest(p.roles) role,"
            " unnest(case when p.cmd = 'ALL' then array['SELECT', 'INSERT', 'UPDATE', 'DELETE']"
            "        else array[p.cmd] end) action"
            " where p.schemaname = 'public' and p.permissive = 'PERMISSIVE'"
            " group by 1, 2, 3 having count(*) > 1",
        )
        == []
    )


def test_no_policy_lets_anon_in(catalog: psycopg.Connection[Any]) -> None:
    assert (
        rows(
            catalog,
            "select policyname from pg_policies where schemaname = 'public'"
            " and ('anon' = any(roles) or 'public' = any(roles))",
        )
        == []
    )


def test_every_foreign_key_is_indexed(catalog: psycopg.Connection[Any]) -> None:
    unindexed = rows(
        catalog,
        "select c.conrelid::regclass::text, c.conname from pg_constraint c"
        " where c.contype = 'f' and c.connamespace = 'public'::regnamespace"
        " and not exists (select 1 from pg_index i where i.indrelid = c.conrelid"
        "   and (i.indkey::int2[])[0:array_length(c.conkey, 1) - 1] = c.conkey)",
    )
    assert unindexed == []


def test_no_index_duplicates_another(catalog: psycopg.Connection[Any]) -> None:
    assert (
        rows(
            catalog,
            "select i.indrelid::regclass::text, array_agg(i.indexrelid::regclass::text)"
            " from pg_index i join pg_class c on c.oid = i.indrelid"
            " where c.relnamespace = 'public'::regnamespace"
            " group by i.indrelid, i.indkey::text, i.indclass::text,"
            "   coalesce(pg_get_expr(i.indexprs, i.indrelid), ''),"
            "   coalesce(pg_get_expr(i.indpred, i.indrelid), '')"
            " having count(*) > 1",
        )
        == []
    )


def test_no_extension_lives_in_public(catalog: psycopg.Connection[Any]) -> None:
    assert (
        rows(
            catalog, "select extname from pg_extension where extnamespace = 'public'::regnamespace"
        )
        == []
    )


def test_everything_in_public_has_a_comment(catalog: psycopg.Connection[Any]) -> None:
    missing = rows(
        catalog,
        "select c.relname from pg_class c where c.relnamespace = 'public'::regnamespace"
        " and c.relkind in ('r', 'v') and obj_description(c.oid, 'pg_class') is null"
        " union all select p.proname from pg_proc p"
        " where p.pronamespace = 'public'::regnamespace"
        " and obj_description(p.oid, 'pg_proc') is null"
        " union all select t.tgname from pg_trigger t join pg_class c on c.oid = t.tgrelid"
        " where c.relnamespace = 'public'::regnamespace and not t.tgisinternal"
        " and t.tgname not like 'cs_realtime_%' and obj_description(t.oid, 'pg_trigger') is null"
        " union all select t.typname from pg_type t where t.typnamespace = 'public'::regnamespace"
        " and t.typtype = 'd' and obj_description(t.oid, 'pg_type') is null",
    )
    assert missing == []


# Real calls: grants and RLS as PostgREST would apply them ------------------------------


@pytest.fixture
async def seeded(backend: PostgresBackend) -> AsyncIterator[PostgresBackend]:
    """One row in every admin-readable table (config and status rows already exist)."""
    async with backend.owner() as conn:
        await conn.execute(
            "insert into public.identification_targets (position, city, region, category)"
            " values (1, 'Bath', 'England', 'baker');"
            "insert into public.pipeline_businesses (place_id, name, category, city, region)"
            " values ('rls-1', 'Hidden Ltd', 'baker', 'Bath', 'England');"
            "insert into public.automation_commands (process, command)"
            " values ('implementation', 'start');"
            "insert into public.automation_runs (process) values ('implementation');"
            "insert into public.automation_logs (process, level, message)"
            " values ('system', 'info', 'hi');"
        )
    yield backend


async def visible_rows(backend: PostgresBackend, table: str, caller: Caller) -> int:
    """How many rows of `table` the caller may read (the privilege under test)."""
    page = await backend.select(table, columns="*", caller=caller)
    return len(page.rows)


async def public_tables(backend: PostgresBackend) -> list[str]:
    async with backend.owner() as conn:
        cur = await conn.execute(
            "select relname from pg_class where relnamespace = 'public'::regnamespace"
            " and relkind in ('r', 'v') order by relname"
        )
        return [r["relname"] for r in await cur.fetchall()]


async def test_anon_reads_no_table_and_no_view(seeded: PostgresBackend) -> None:
    for table in await public_tables(seeded):
        with pytest.raises(BackendError) as err:
            await visible_rows(seeded, table, ANON)
        assert err.value.code == "42501", table


async def test_an_admin_without_mfa_sees_no_rows(seeded: PostgresBackend) -> None:
    for table in await public_tables(seeded):
        if table in ADMIN_READABLE or table in VIEWS:
            visible = await visible_rows(seeded, table, AAL1)
            if table == "v_queue_status":
                assert visible == 5  # the five status rows, all counting zero
            elif table == "v_identification_progress":
                assert visible == 1
            else:
                assert visible == 0, table
        else:
            with pytest.raises(BackendError) as err:
                await visible_rows(seeded, table, AAL1)
            assert err.value.code == "42501", table
    stats = await seeded.rpc("get_queue_statistics", caller=AAL1)
    assert stats["total"] == 0


@pytest.mark.parametrize("caller", [AAL2_NOT_ADMIN, AAL1_ADMIN], ids=["aal2-no-flag", "flag-aal1"])
async def test_a_user_needs_both_mfa_and_the_admin_flag_to_read_anything(
    seeded: PostgresBackend, caller: Caller
) -> None:
    for table in ADMIN_READABLE:
        assert await visible_rows(seeded, table, caller) == 0, table
    assert (await seeded.rpc("get_queue_statistics", caller=caller))["total"] == 0
    assert await seeded.rpc("get_automation_status", caller=caller) == []
    assert await seeded.rpc("get_current_identification_target", caller=caller) == []
    progress = (await seeded.select("v_identification_progress", caller=caller)).rows
    assert [r["total"] for r in progress] == [0]


def test_every_readable_table_has_both_restrictive_policies(
    catalog: psycopg.Connection[Any],
) -> None:
    restrictive = rows(
        catalog,
        "select tablename, qual from pg_policies where schemaname = 'public'"
        " and permissive = 'RESTRICTIVE' and cmd = 'SELECT' and roles = '{authenticated}'",
    )
    for table in ADMIN_READABLE:
        quals = [q for t, q in restrictive if t == table]
        assert any("'aal2'" in q for q in quals), table
        assert any("'cliftonsites_admin'" in q and "app_metadata" in q for q in quals), table
    assert {t for t, _ in restrictive} == ADMIN_READABLE


async def test_an_admin_with_mfa_reads_the_readable_tables(seeded: PostgresBackend) -> None:
    for table in ADMIN_READABLE:
        assert await visible_rows(seeded, table, AAL2) >= 1, table
    stats = await seeded.rpc("get_queue_statistics", caller=AAL2)
    assert stats["total"] == 1
    assert stats["throughput"]["last_day"]["claimed"] is None  # payments stay hidden
    target = await seeded.rpc("get_current_identification_target", caller=AAL2)
    assert target == []  # nothing in progress yet, but the call is allowed
    status = await seeded.rpc("get_automation_status", caller=AAL2)
    assert {r["process"] for r in status} == {"identification", "implementation"}


async def test_an_admin_with_mfa_writes_nothing_directly(seeded: PostgresBackend) -> None:
    with pytest.raises(BackendError) as err:
        await seeded.insert("automation_logs", [{"process": "system", "level": "info",
                                                 "message": "x"}], caller=AAL2)  # fmt: skip
    assert err.value.code == "42501"
    for fn, params in (
        ("claim_next_business", {"p_worker_id": "w"}),
        ("update_automation_config", {"p_changes": {"batch_size": 2}, "p_updated_by": "x"}),
        ("get_dashboard_snapshot", {}),
    ):
        with pytest.raises(BackendError) as err:
            await seeded.rpc(fn, params, caller=AAL2)
        assert err.value.code == "42501", fn


async def test_anon_executes_no_function(seeded: PostgresBackend) -> None:
    for fn in (
        "get_queue_statistics",
        "get_automation_status",
        "get_current_identification_target",
    ):
        with pytest.raises(BackendError) as err:
            await seeded.rpc(fn, caller=ANON)
        assert err.value.code == "42501", fn


async def test_the_service_role_sees_every_row(seeded: PostgresBackend) -> None:
    for table in ADMIN_READABLE:
        assert await visible_rows(seeded, table, Caller()) >= 1, table
    assert await visible_rows(seeded, "admin_audit_log", Caller()) == 0


async def test_nobody_can_rewrite_the_audit_log(seeded: PostgresBackend) -> None:
    await seeded.insert("admin_audit_log", [{"action": "login"}])
    with pytest.raises(BackendError) as err:
        await seeded.update("admin_audit_log", {"action": "x"}, filters=[], caller=Caller())
    assert err.value.code == "21000"
    # as_caller pipelines its statements: an error surfaces at the first fetch or, as
    # here, at the end of the block, as a BackendError with the SQLSTATE
    with pytest.raises(BackendError) as err:
        async with seeded.as_caller(Caller()) as conn:
            await conn.execute("delete from public.admin_audit_log")
    assert err.value.code == "42501"
    assert await visible_rows(seeded, "admin_audit_log", Caller()) == 1
