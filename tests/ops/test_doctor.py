"""`cliftonsites doctor`: a fresh database passes; each injected defect is named with
its fix, and applying that fix makes the doctor pass again."""

from __future__ import annotations

import json
from collections.abc import Iterator

import psycopg
import pytest
from click.testing import CliRunner

from dashboard.cli import cli
from dashboard.ops.doctor import run_doctor
from dashboard.ops.finding import Finding
from tests.dbutil import create_migrated_database, drop_database

DEFECTS = {
    "rls_disabled": (
        "alter table public.stripe_events disable row level security",
        "tables",
        "row level security is disabled on stripe_events",
        "alter table public.stripe_events enable row level security;",
    ),
    "mutable_search_path": (
        "alter function public.search_businesses(text, text, bigint, integer) reset search_path",
        "functions",
        "has a mutable search_path",
        "alter function public.search_businesses(p_query text, p_status text,"
        " p_before_id bigint, p_limit integer) set search_path = '';",
    ),
    "execute_granted_to_anon": (
        "grant execute on function public.get_dashboard_snapshot() to anon",
        "functions",
        "anon may execute public.get_dashboard_snapshot()",
        "revoke execute on function public.get_dashboard_snapshot() from anon;",
    ),
    "disabled_trigger": (
        "alter table public.automation_commands disable trigger automation_commands_notify",
        "triggers",
        "trigger automation_commands_notify on automation_commands is disabled",
        "alter table public.automation_commands enable trigger automation_commands_notify;",
    ),
    "dropped_index": (
        "drop index public.pipeline_businesses_queue_idx",
        "indexes",
        "index public.pipeline_businesses_queue_idx is missing",
        "create index pipeline_businesses_queue_idx on public.pipeline_businesses",
    ),
    "missing_migration": (
        "delete from supabase_migrations.schema_migrations where version = '20261125000300'",
        "migrations",
        "migration 20261125000300_create_views.sql is not recorded as applied",
        "insert into supabase_migrations.schema_migrations (version, name)"
        " values ('20261125000300', 'create_views');",
    ),
    "missing_admin_flag_policy": (
        'drop policy "Reading automation_logs requires the admin flag" on public.automation_logs',
        "policies",
        "no restrictive admin-flag policy on automation_logs",
        'create policy "Reading automation_logs requires the admin flag" on public.automation_logs'
        " as restrictive for select to authenticated",
    ),
    "table_missing_from_publication": (
        "alter publication supabase_realtime drop table public.automation_logs",
        "realtime",
        "automation_logs is not in the supabase_realtime publication",
        "alter publication supabase_realtime add table public.automation_logs;",
    ),
}


@pytest.fixture
def fresh_url(embedded_admin_url: str) -> Iterator[str]:
    """A database of its own: defects must not leak into other tests' databases."""
    url = create_migrated_database(embedded_admin_url)
    yield url
    drop_database(embedded_admin_url, url)


def execute(url: str, statement: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement)  # type: ignore[arg-type]


def apply_fix(url: str, fix: str) -> None:
    """Run the SQL lines of a fix (commands and comments are for the human)."""
    for line in fix.splitlines():
        sql = line.split("  --")[0].strip()
        if sql and not sql.startswith(("cliftonsites", "git", "--")):
            execute(url, sql)


def test_a_freshly_migrated_database_passes_every_check(db_url: str) -> None:
    report, catalog = run_doctor(db_url)
    assert report.ok, report.findings
    assert [f for f in report.findings if f.severity == "fail"] == []
    assert set(report.passed) == {
        "tables", "policies", "functions", "triggers", "views", "indexes", "migrations",
        "realtime", "outreach",
    }  # fmt: skip
    assert len(catalog.tables) == 12 and len(catalog.views) == 2


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_it_names_each_defect_and_its_fix(fresh_url: str, defect: str) -> None:
    inject, check, problem, fix = DEFECTS[defect]
    execute(fresh_url, inject)
    report, _ = run_doctor(fresh_url)
    assert not report.ok
    found: list[Finding] = [f for f in report.findings if problem in f.problem]
    assert len(found) == 1, report.findings
    assert found[0].check == check and found[0].severity == "fail"
    assert fix in " ".join(found[0].fix.split())
    assert found[0].why
    apply_fix(fresh_url, found[0].fix)
    healed, _ = run_doctor(fresh_url)
    assert healed.ok, healed.findings


def test_it_names_a_migration_whose_file_changed_after_it_was_applied(fresh_url: str) -> None:
    # The database holds another version of the file than this checkout has.
    execute(
        fresh_url,
        "update supabase_migrations.cliftonsites_checksums set sha256 = repeat('0', 64)"
        " where version = '20261125000300'",
    )
    report, _ = run_doctor(fresh_url)
    found = [f for f in report.findings if "changed after it was applied" in f.problem]
    assert [f.subject for f in found] == ["20261125000300_create_views.sql"]
    assert not report.ok and found[0].fix.startswith("git checkout -- supabase/migrations/")


def test_it_flags_a_security_definer_function_and_an_invoker_less_view(fresh_url: str) -> None:
    execute(fresh_url, "alter function public.get_queue_statistics() security definer")
    execute(fresh_url, "alter view public.v_queue_status reset (security_invoker)")
    report, _ = run_doctor(fresh_url)
    problems = " | ".join(f.problem for f in report.findings)
    assert "public.get_queue_statistics() is SECURITY DEFINER" in problems
    assert "view v_queue_status runs with its owner's rights" in problems


def test_it_warns_when_outreach_is_disabled_without_failing(fresh_url: str) -> None:
    execute(fresh_url, "update public.automation_config set outreach_enabled = false")
    report, _ = run_doctor(fresh_url)
    assert report.ok
    assert any(f.problem == "outreach is disabled in config" for f in report.findings)


def test_the_command_exits_non_zero_and_reports_json(fresh_url: str) -> None:
    runner = CliRunner()
    clean = runner.invoke(cli, ["doctor", "--database-url", fresh_url])
    assert clean.exit_code == 0, clean.output
    assert "all checks passed" in clean.output
    execute(fresh_url, DEFECTS["rls_disabled"][0])
    broken = runner.invoke(cli, ["doctor", "--database-url", fresh_url, "--json"])
    assert broken.exit_code == 1
    body = json.loads(broken.output)
    assert body["ok"] is False and body["findings"][0]["check"] == "tables"
    assert "enable row level security" in body["findings"][0]["fix"]


def test_the_command_explains_an_unreachable_server() -> None:
    result = CliRunner().invoke(
        cli, ["doctor", "--database-url", "postgresql://nobody@127.0.0.1:1/none"]
    )
    assert result.exit_code == 1 and "cannot reach the database" in result.output
