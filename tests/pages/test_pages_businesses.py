"""`/businesses`, a business's detail page and `/config`, `/audit`: what an admin sees,
what each action writes (and audits), and bad input that writes nothing."""

from __future__ import annotations

import asyncio
import itertools
from asyncio import sleep as asyncio_sleep
from typing import Any

import pytest
from nicegui import ui
from nicegui.testing import User

from dashboard.backends.base import Filter
from dashboard.runtime import Runtime
from tests.admin_session import SignedIn, requeue_all_failed, settle, table_rows
from tests.dbutil import eventually, sql
from tests.factories import add_business, audit_actions, status_of

pytestmark = pytest.mark.usefixtures("app_runtime")  # opens the runtime for the User fixture


async def test_search_finds_by_name_and_pages_by_keyset(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    for n in range(60):
        await add_business(app_runtime, n)
    await add_business(app_runtime, 999, name="Zed's Plumbing")
    await user.open("/businesses")
    await user.should_see(marker="business-search", retries=100)
    await settle(lambda: _rows_are(user, 50))
    user.find(marker="business-search").type("plumbing").trigger("keydown.enter")
    await settle(lambda: _rows_are(user, 1))
    assert table_rows(user)[0]["name"] == "Zed's Plumbing"
    user.find(marker="business-search").clear().trigger("keydown.enter")
    await settle(lambda: _rows_are(user, 50))
    user.find(ui.table).trigger("request", {"pagination": {"page": 2, "rowsPerPage": 50}})
    await settle(lambda: _rows_are(user, 11))


async def test_the_pager_counts_every_match_and_its_last_page_reaches_the_end(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    rows = [
        {"place_id": f"p-{n}", "name": f"Shop {n}", "category": "baker", "city": "Bath",
         "region": "England"}
        for n in range(120)
    ]  # fmt: skip
    await app_runtime.api.insert("pipeline_businesses", rows)
    await user.open("/businesses")
    await user.should_see(marker="business-search", retries=100)
    await settle(lambda: _rows_are(user, 50))
    table = user.find(ui.table).elements.pop()
    assert table.pagination["rowsNumber"] == 120  # not "of 51"
    await user.should_see("rows 1-50 of 120")
    assert "1-50 of 120" in table.props[":pagination-label"]
    # the pager's last page is page 3, and it shows the 20 oldest
    user.find(ui.table).trigger("request", {"pagination": {"page": 3, "rowsPerPage": 50}})
    await settle(lambda: _rows_are(user, 20))
    assert table_rows(user)[-1]["name"] == "Shop 0"
    await user.should_see("rows 101-120 of 120")


async def _rows_are(user: User, n: int) -> bool:
    return bool(user.find(ui.table).elements) and len(table_rows(user)) == n


async def test_an_overlong_search_is_refused_at_the_field(user: User, admin: SignedIn) -> None:
    await user.open("/businesses")
    await user.should_see(marker="business-search", retries=100)
    user.find(marker="business-search").type("x" * 201).trigger("keydown.enter")
    await user.should_see("Search at most 200 characters")


async def test_an_overlong_search_leaves_no_rows_of_the_last_one_and_live_changes_stay_quiet(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:

    from dashboard.live.service import start_live, stop_live

    bus = await start_live(app_runtime)
    assert await bus.wait_for(lambda: bus.connected, 5)
    try:
        for n in range(3):
            await add_business(app_runtime, n)
        await user.open("/businesses")
        await settle(lambda: _rows_are(user, 3))
        user.find(marker="business-search").type("x" * 201).trigger("keydown.enter")
        await settle(lambda: _rows_are(user, 0))  # not the last search's rows under it
        await user.should_see("Fix the search above to see businesses.")
        await add_business(app_runtime, 99)  # a live change: no re-run, no toast
        await asyncio.sleep(2.5)
        assert table_rows(user) == []
        assert user.notify.messages == []
    finally:
        await stop_live(app_runtime)


async def test_a_live_change_re_runs_the_last_search_not_text_typed_since(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    from dashboard.live.service import start_live, stop_live

    bus = await start_live(app_runtime)
    assert await bus.wait_for(lambda: bus.connected, 5)
    try:
        for n in range(3):
            await add_business(app_runtime, n)
        await user.open("/businesses")
        await settle(lambda: _rows_are(user, 3))
        user.find(marker="business-search").type("Bakery 1")  # typed, never searched
        await add_business(app_runtime, 3)
        await settle(lambda: _rows_are(user, 4), timeout=8)
    finally:
        await stop_live(app_runtime)


async def test_a_refused_read_is_said_once_in_the_pages_words(
    user: User, admin: SignedIn, app_runtime: Runtime, monkeypatch: Any
) -> None:
    from dashboard.backends.base import BackendError
    from dashboard.pages import businesses

    await add_business(app_runtime, 1)
    await user.open("/businesses")
    await settle(lambda: _rows_are(user, 1))

    async def refused(*args: Any, **kwargs: Any) -> Any:
        raise BackendError("22023", "p_query is longer than 200 characters")

    monkeypatch.setattr(businesses, "search_businesses_page", refused)
    for _ in range(3):  # as three live reloads would
        user.find(ui.table).trigger("request", {"pagination": {"page": 1, "rowsPerPage": 50}})
        await asyncio_sleep(0.2)
    assert table_rows(user) == []
    assert user.notify.messages == [
        "These filters cannot be searched: change them and search again."
    ]


async def test_requeue_and_skip_change_the_row_and_are_audited(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    bid = await add_business(app_runtime, 1, status="failed", attempts=3, last_error="timeout")
    await user.open(f"/businesses/{bid}")
    await user.should_see(marker="business-requeue", retries=100)
    # `elements` is a set: page order is creation order, the elements' ids
    entries = sorted(user.find(ui.timeline_entry).elements, key=lambda e: e.id)
    titles = [e.props["title"] for e in entries]
    assert titles[0] == "Identified"
    user.find(marker="business-requeue").click()
    await settle(lambda: _status_is(app_runtime, bid, "queued"))
    await user.should_see(marker="business-skip", retries=100)
    user.find(marker="business-skip").click()
    await settle(lambda: _status_is(app_runtime, bid, "skipped"))
    assert {"business_requeued", "business_skipped"} <= set(await audit_actions(app_runtime))


async def _status_is(runtime: Runtime, bid: int, status: str) -> bool:
    return await status_of(runtime, bid) == status


async def test_an_action_the_status_forbids_says_why_and_writes_nothing(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    bid = await add_business(app_runtime, 2)  # queued
    await user.open(f"/businesses/{bid}")
    await user.should_see(marker="business-requeue", retries=100)
    user.find(marker="business-requeue").click()
    await user.should_see("Only failed or skipped businesses can be requeued", retries=50)
    user.find(marker="business-retry_outreach").click()
    await user.should_see("no deployed site yet", retries=50)
    assert await status_of(app_runtime, bid) == "queued"
    assert await audit_actions(app_runtime) == []


async def test_an_unknown_or_malformed_business_id_is_explained(
    user: User, admin: SignedIn
) -> None:
    await user.open("/businesses/12345")
    await user.should_see("No business #12345", retries=100)
    await user.open("/businesses/abc")
    await user.should_see("'abc' is not a business id", retries=100)


async def test_the_config_form_saves_through_the_audited_function(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    await user.open("/config")
    await user.should_see(marker="batch_size", retries=100)
    user.find(marker="batch_size").clear().type("25")
    user.find(marker="config-save").click()
    await settle(lambda: _config_is(app_runtime, "batch_size", 25))
    [entry] = (await app_runtime.api.select("admin_audit_log")).rows
    assert entry["action"] == "config_updated" and entry["actor_email"] == admin.email
    assert entry["details"]["before"] == {"batch_size": 10}


async def _config_is(runtime: Runtime, key: str, value: Any) -> bool:
    return bool((await runtime.api.select("automation_config")).rows[0][key] == value)


async def test_bad_config_values_show_at_their_field_and_save_nothing(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    await user.open("/config")
    await user.should_see(marker="batch_size", retries=100)
    user.find(marker="batch_size").clear().type("0")
    user.find(marker="max_attempts").clear().type("three")
    user.find(marker="bounce_rate_limit").clear().type("0.12345")
    user.find(marker="config-save").click()
    await user.should_see("Must be from 1 to 1,000", retries=50)
    await user.should_see("Enter a whole number from 1 to 20")
    await user.should_see("Enter a number (up to 3 decimals) from 0 to 1")
    assert await _config_is(app_runtime, "batch_size", 10)
    assert await audit_actions(app_runtime) == []


async def test_config_fields_show_their_unit_and_allowed_range(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    await user.open("/config")
    await user.should_see(marker="batch_size", retries=100)

    def props(key: str) -> dict[str, Any]:
        return dict(user.find(marker=key).elements.pop().props)

    assert props("stale_after_minutes")["suffix"] == "minutes"
    assert props("stale_after_minutes")["hint"] == (
        "A business started longer ago than this goes back to the queue."
        " Default 15 minutes; 1 to 1,440."
    )
    assert props("heartbeat_stale_seconds")["suffix"] == "seconds"
    assert props("pace_seconds")["suffix"] == "seconds"
    assert props("daily_deploy_limit")["hint"].endswith("Default 500; 0 to 10,000,000.")
    assert "suffix" not in props("batch_size")


def test_each_config_field_states_the_default_the_database_gives_it(app_runtime: Runtime) -> None:
    from dashboard.pages.config import FIELDS, plain

    rows = sql(
        app_runtime.database_url,
        "select column_name as name, column_default as value from information_schema.columns"
        " where table_schema = 'public' and table_name = 'automation_config'",
    )
    defaults = {r["name"]: r["value"] for r in rows}
    for field in FIELDS:
        assert plain(defaults[field.key]) == plain(field.default), field.key
        assert field.meaning, field.key


async def test_config_numbers_show_as_typed(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    sql(app_runtime.database_url, "update public.automation_config set pace_seconds = 1.50,"
        " bounce_rate_limit = 0.200")  # fmt: skip
    await user.open("/config")
    await user.should_see(marker="pace_seconds", retries=100)
    assert user.find(marker="pace_seconds").elements.pop().value == "1.5"
    assert user.find(marker="bounce_rate_limit").elements.pop().value == "0.2"
    assert user.find(marker="batch_size").elements.pop().value == "10"


async def test_a_save_made_elsewhere_shows_live_and_keeps_what_the_admin_typed(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    from dashboard.actions.automation import change_config
    from dashboard.auth.actor import Actor

    await user.open("/config")
    await user.should_see(marker="batch_size", retries=100)
    user.find(marker="max_attempts").clear().type("7")  # typed, not saved
    colleague = Actor(id=None, email="colleague@example.com")

    async def no_code(what: str) -> None:
        raise AssertionError(f"no fresh code is needed for {what}")

    await change_config(colleague, {"batch_size": 40, "max_attempts": 5}, fresh_code=no_code)

    def shown(key: str) -> Any:
        return user.find(marker=key).elements.pop().value

    await eventually(lambda: shown("batch_size") == "40", 5, "the colleague's batch size")
    assert shown("max_attempts") == "7"
    await user.should_see("your unsaved edits to max_attempts are kept")
    await user.should_see("by colleague@example.com")
    user.find(marker="config-save").click()  # sends only the admin's own edit
    await settle(lambda: _config_is(app_runtime, "max_attempts", 7))
    assert await _config_is(app_runtime, "batch_size", 40)


async def test_a_cancelled_code_puts_the_form_back(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    await user.open("/config")
    await user.should_see(marker="outreach_enabled", retries=100)
    user.find(marker="outreach_enabled").click()
    user.find(marker="batch_size").clear().type("30")
    user.find(marker="config-save").click()
    await user.should_see(marker="step-up-code", retries=50)
    user.find("Cancel").click()
    await user.should_see("Not saved: the form shows the saved values again.", retries=50)
    assert user.find(marker="outreach_enabled").elements.pop().value is True
    assert user.find(marker="batch_size").elements.pop().value == "10"
    assert await _config_is(app_runtime, "outreach_enabled", True)


async def test_turning_a_process_off_needs_a_fresh_code(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    await user.open("/config")
    await user.should_see(marker="implementation_enabled", retries=100)
    user.find(marker="implementation_enabled").click()
    user.find(marker="config-save").click()
    await user.should_see("Implementation: no new claims", retries=50)
    user.find(marker="step-up-code").type(admin.fresh_code())
    user.find(marker="step-up-confirm").click()
    await settle(lambda: _config_is(app_runtime, "implementation_enabled", False))


async def test_requeue_all_failed_needs_a_fresh_code_then_moves_them_in_one_audited_step(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    failed = [
        await add_business(app_runtime, n, status="failed", attempts=3, last_error="boom")
        for n in (1, 2, 3)
    ]
    queued = await add_business(app_runtime, 4)
    right = admin.fresh_code()
    impact = "3 failed business(es) go back to the queue with their attempts reset."
    await requeue_all_failed(user, f"{(int(right) + 1) % 1_000_000:06d}", impact=impact)
    await user.should_see("That code is wrong or already used: nothing was changed.", retries=50)
    assert [await status_of(app_runtime, b) for b in failed] == ["failed"] * 3
    await requeue_all_failed(user, admin.fresh_code(), open_page=False)
    await user.should_see("Requeued 3 business(es).", retries=50)
    rows = (
        await app_runtime.api.select("pipeline_businesses", filters=[Filter("id", "in", failed)])
    ).rows
    assert {(r["status"], r["attempts"], r["last_error"]) for r in rows} == {("queued", 0, None)}
    assert await status_of(app_runtime, queued) == "queued"
    [entry] = (
        await app_runtime.api.select(
            "admin_audit_log", filters=[Filter("action", "eq", "businesses_requeued")]
        )
    ).rows
    assert entry["details"] == {
        "before": {"status": "failed", "count": 3},
        "after": {"status": "queued", "count": 3},
    }


async def test_the_audit_page_lists_and_filters_admin_actions(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    await app_runtime.api.insert(
        "admin_audit_log",
        [
            {"actor_email": "a@x.test", "action": "login", "details": {}},
            {"actor_email": "b@x.test", "action": "config_updated", "details": {"after": {"x": 1}}},
        ],
    )
    await user.open("/audit")
    await user.should_see(marker="audit-actor", retries=100)
    await settle(lambda: _rows_are(user, 2))
    user.find(marker="audit-actor").type("b@x").trigger("keydown.enter")
    await settle(lambda: _rows_are(user, 1))
    assert table_rows(user)[0]["action"] == "config_updated"


async def test_a_stream_of_changes_re_runs_an_open_search_at_most_every_two_seconds(
    user: User, admin: SignedIn, app_runtime: Runtime, monkeypatch: Any
) -> None:

    from dashboard.live.service import start_live, stop_live
    from dashboard.pages import businesses

    bus = await start_live(app_runtime)
    assert await bus.wait_for(lambda: bus.connected, 5)

    await add_business(app_runtime, 1)
    await user.open("/businesses")
    await settle(lambda: _rows_are(user, 1))
    calls: list[float] = []
    real = businesses.search_businesses_page

    async def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(asyncio.get_running_loop().time())
        return await real(*args, **kwargs)

    monkeypatch.setattr(businesses, "search_businesses_page", counting)
    try:
        for n in range(2, 12):  # ten separate commits over about a second
            await add_business(app_runtime, n)
            await asyncio.sleep(0.1)
        await settle(lambda: _rows_are(user, 11))  # the last change is always shown
    finally:
        await stop_live(app_runtime)
    assert 1 <= len(calls) <= 2, calls
    assert all(b - a >= 1.9 for a, b in itertools.pairwise(calls))


async def test_a_business_marked_for_review_says_why_on_its_page(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    from dashboard.data import queue

    business_id = await add_business(app_runtime, 7)
    claim = await queue.claim_next_business(app_runtime.api, "w")
    assert claim is not None and claim.claim_token is not None
    site = await queue.mark_business_deployed(
        app_runtime.api, claim.id, "/sites/{uuid}/", claim.claim_token
    )
    await app_runtime.api.update(
        "qualified_businesses",
        {"review_reason": "refunded: charge ch_1 refunded 49.00 USD"},
        filters=[Filter("id", "eq", site.id)],
    )
    await user.open(f"/businesses/{business_id}")
    await user.should_see("Needs review: refunded: charge ch_1 refunded 49.00 USD", retries=100)
