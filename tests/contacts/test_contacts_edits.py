"""Owner emails by hand and by CSV import: validation, audit with before and after,
outreach started when it was skipped for want of an email, every line of an import
reported, and nothing half-written."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dashboard.backends.base import Caller
from dashboard.contacts.edits import ImportRefused, apply_import, plan_import, set_email_by_hand
from dashboard.contacts.email_check import InvalidEmail
from dashboard.outreach.campaign import start_campaign
from tests import e2e_support as e2e
from tests.faults import audit_refusing
from tests.routes_support import Money

ADMIN = Caller(role="service_role", sub=None, email="ops@example.com")


async def skipped_for_no_email(money: Money) -> tuple[str, int, int]:
    """A deployed business whose outreach was skipped because it had no email."""
    [uuid] = await money.businesses(1, email=False)
    qid = int(await money.value("select id from public.qualified_businesses"))
    result = await start_campaign(money.runtime.api, money.provider, qid, source="test")
    assert result.outcome == "skipped"
    pid = int(await money.value("select pipeline_business_id from public.qualified_businesses"))
    return uuid, qid, pid


async def test_an_email_by_hand_is_validated_audited_and_starts_the_skipped_outreach(
    money: Money,
) -> None:
    uuid, _, pid = await skipped_for_no_email(money)
    rt = money.runtime
    with pytest.raises(InvalidEmail, match=r"did you mean gmail\.com"):
        await set_email_by_hand(rt.db, rt.api, money.provider, ADMIN, pid, "maria@gmial.com")
    assert await money.value("select count(*) from public.admin_audit_log") == 0
    written = await set_email_by_hand(rt.db, rt.api, money.provider, ADMIN, pid, " Maria@Biz.COM ")
    assert [s.outcome for s in written.started] == ["started"]
    assert money.provider.added == [uuid]
    row = (await money.sql("select p.email, p.email_source, p.email_missing_reason,"
                           " q.email as site_email, q.outreach_status from"
                           " public.pipeline_businesses p join public.qualified_businesses q"
                           " on q.pipeline_business_id = p.id"))[0]  # fmt: skip
    assert row == {"email": "Maria@biz.com", "email_source": "manual", "email_missing_reason": None,
                   "site_email": "Maria@biz.com", "outreach_status": "started"}  # fmt: skip
    [audit] = await money.sql("select actor_email, action, target, details"
                              " from public.admin_audit_log")  # fmt: skip
    assert audit["actor_email"] == "ops@example.com" and audit["action"] == "owner_email_set"
    assert audit["target"] == f"pipeline_businesses:{pid}"
    assert audit["details"]["before"] == {"email": None, "email_source": None,
                                          "outreach_status": "skipped"}  # fmt: skip
    assert audit["details"]["after"] == {"email": "Maria@biz.com", "email_source": "manual",
                                         "outreach_status": "pending"}  # fmt: skip
    lines = await money.sql("select message from public.automation_logs where business_id = %s",
                            (pid,))  # fmt: skip
    assert any("owner email set by hand by ops@example.com" in r["message"] for r in lines)


async def test_a_failing_audit_writes_no_email(money: Money) -> None:
    _, _, pid = await skipped_for_no_email(money)
    rt = money.runtime
    async with audit_refusing(rt):
        with pytest.raises(Exception, match="audit"):
            await set_email_by_hand(rt.db, rt.api, money.provider, ADMIN, pid, "maria@biz.com")
    assert await money.value("select email from public.pipeline_businesses") is None
    assert await money.value("select outreach_status from public.qualified_businesses") == "skipped"
    assert money.provider.added == []


CSV_WITH_ERRORS = """uuid,place_id,email
b0000000,,new0@biz.com
b0000001,,owner1@example.com
zzzz9999,,x@biz.com
b0000002,,broken@biz
,,nobody@biz.com
,place-0,again@biz.com
,place-3,new3@biz.com
"""


async def test_the_dry_run_reports_every_line_and_names_the_bad_ones(money: Money) -> None:
    await money.businesses(4)
    plan = await plan_import(money.runtime.db, CSV_WITH_ERRORS)
    assert plan.report() == [
        "line 2: b0000000: owner0@example.com -> new0@biz.com",
        "line 3: b0000001: already owner1@example.com",
        "line 4: zzzz9999: no business has uuid 'zzzz9999'",
        "line 5: b0000002: the domain of 'broken@biz' has no top-level domain (like .com)",
        "line 6: (no key): give a place_id or a uuid",
        "line 7: place-0: this business is on an earlier line too",
        "line 8: place-3: owner3@example.com -> new3@biz.com",
    ]
    assert [p.line for p in plan.errors] == [4, 5, 6, 7]
    with pytest.raises(ImportRefused, match="4 line"):
        rt = money.runtime
        await apply_import(rt.db, rt.api, money.provider, ADMIN, plan)
    emails = await money.sql("select email from public.pipeline_businesses order by id")
    assert [r["email"] for r in emails] == [f"owner{i}@example.com" for i in range(4)]
    assert await money.value("select count(*) from public.admin_audit_log") == 0


async def test_a_good_import_writes_every_line_in_one_go_or_none(money: Money) -> None:
    await money.businesses(3, email=False)
    for qid in [r["id"] for r in await money.sql("select id from public.qualified_businesses")]:
        await start_campaign(money.runtime.api, money.provider, qid, source="test")
    text = "place_id,email\nplace-0,a@biz.com\nplace-1,b@biz.com\nplace-2,c@biz.com\n"
    rt = money.runtime
    plan = await plan_import(rt.db, text)
    async with audit_refusing(rt, when="new.target like '%:3'"):  # the third audit row fails
        with pytest.raises(Exception, match="audit"):
            await apply_import(rt.db, rt.api, money.provider, ADMIN, plan)
    assert await money.value("select count(*) from public.pipeline_businesses"
                             " where email is not null") == 0  # fmt: skip
    written = await apply_import(
        rt.db, rt.api, money.provider, ADMIN, await plan_import(rt.db, text)
    )
    assert written.changed == 3 and [s.outcome for s in written.started] == ["started"] * 3
    rows = await money.sql("select email, email_source from public.pipeline_businesses order by id")
    assert rows == [{"email": e, "email_source": "import"}
                    for e in ("a@biz.com", "b@biz.com", "c@biz.com")]  # fmt: skip
    assert await money.value("select count(*) from public.admin_audit_log") == 3


@pytest.mark.parametrize(
    ("text", "why"),
    [("", "header"), ("name,phone\nx,y\n", "header"), ("email\nx@biz.com\n", "header")],
)
async def test_a_file_without_the_needed_columns_is_refused(
    money: Money, text: str, why: str
) -> None:
    with pytest.raises(ImportRefused, match=why):
        await plan_import(money.runtime.db, text)


def test_the_command_reports_lines_and_writes_only_without_errors(
    app_db_url: str, tmp_path: Path
) -> None:
    from tests.dbutil import sql

    sql(app_db_url, "insert into public.pipeline_businesses (place_id, name, category, city,"
        " region) values ('cli-1', 'Cli Bakery', 'bakery', 'Clifton', 'NJ')")  # fmt: skip
    env = e2e.base_env(app_db_url, tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("place_id,email\ncli-1,ok@biz.com\ncli-2,x@biz.com\n")
    good = tmp_path / "good.csv"
    good.write_text("place_id,email\ncli-1,ok@biz.com\n")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*e2e.cli_command(), "contacts", "import", *args], env=env,
                              capture_output=True, text=True, timeout=60, check=False)  # fmt: skip

    refused = run(str(bad))
    assert refused.returncode == 1
    assert "line 3: cli-2: no business has place_id 'cli-2'" in refused.stdout
    assert "nothing was written" in refused.stderr
    dry = run(str(good), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "line 2: cli-1: no email -> ok@biz.com" in dry.stdout and "dry run" in dry.stdout
    assert sql(app_db_url, "select email from public.pipeline_businesses")[0]["email"] is None
    done = run(str(good))
    assert done.returncode == 0, done.stderr
    assert "1 email(s) written" in done.stdout
    assert sql(app_db_url, "select email from public.pipeline_businesses")[0]["email"] == (
        "ok@biz.com"
    )
    [audit] = sql(app_db_url, "select actor_email, action from public.admin_audit_log")
    assert audit["action"] == "owner_email_set" and audit["actor_email"].startswith("cli:")
