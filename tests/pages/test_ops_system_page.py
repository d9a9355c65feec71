"""`/system`: the doctor's findings and the catalog, read-only, for a signed-in admin."""

from __future__ import annotations

import psycopg
import pytest
from nicegui.testing import User

from dashboard.runtime import Runtime
from tests.admin_session import SignedIn, table_rows

pytestmark = pytest.mark.usefixtures("app_runtime")  # opens the runtime for the User fixture


def rows_of(user: User, marker: str) -> list[dict[str, object]]:
    [table] = user.find(marker=marker).elements
    return list(table.rows)  # type: ignore[attr-defined]


async def test_a_healthy_database_shows_every_check_passed(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    await user.open("/system")
    await user.should_see(marker="doctor-ok", retries=100)
    await user.should_see("functions: 25 functions, security invoker")
    await user.should_see("connected through")
    tables = {r["name"]: r for r in rows_of(user, "system-tables")}
    assert len(tables) == 12 and all(r["rls"] == "on" for r in tables.values())
    assert "requires MFA (aal2) (SELECT to authenticated, restrictive)" in str(
        tables["pipeline_businesses"]["policies"]
    )
    functions = {r["name"].split("(")[0]: r for r in rows_of(user, "system-functions")}
    assert functions["get_queue_statistics"]["execute"] == "authenticated, service_role"
    assert functions["claim_next_business"]["execute"] == "service_role"
    assert functions["set_updated_at"]["execute"] == "owner only"
    assert all(r["search_path"] == "'' (empty)" for r in functions.values())
    triggers = {(r["table"], r["name"]): r for r in rows_of(user, "system-triggers")}
    assert triggers[("qualified_businesses", "outreach_on_deployed")]["enabled"] == "yes"
    views = rows_of(user, "system-views")
    assert {v["name"] for v in views} == {"v_queue_status", "v_identification_progress"}
    assert any(
        r["name"] == "pipeline_businesses_queue_idx" for r in rows_of(user, "system-indexes")
    )
    assert table_rows(user)  # the page renders real tables


async def test_a_finding_shows_with_its_why_and_fix(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    with psycopg.connect(app_runtime.database_url, autocommit=True) as conn:
        conn.execute("update public.automation_config set outreach_enabled = false")
    await user.open("/system")
    await user.should_see("outreach: outreach is disabled in config", retries=100)
    await user.should_see("Why: deployed businesses stay `pending` and no campaign starts")
