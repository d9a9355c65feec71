"""A business's own page: the "why" at the top, and actions that write their change and
its audit row in one transaction (a failing audit insert leaves the business as it was)."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from nicegui import ui
from nicegui.testing import User

from dashboard.backends.base import Filter
from dashboard.components import live
from dashboard.runtime import Runtime
from tests.admin_session import SignedIn, open_detail, requeue_all_failed, settle
from tests.factories import add_business, add_site, audit_actions, status_of
from tests.faults import audit_refusing, expect_logged_errors

pytestmark = pytest.mark.usefixtures("app_runtime")  # opens the runtime for the User fixture


@pytest.fixture
async def audit_down(app_runtime: Runtime) -> AsyncIterator[None]:
    """The audit log refuses every insert."""
    async with audit_refusing(app_runtime):
        yield


async def test_the_page_says_why_a_queued_business_waits(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    await add_business(app_runtime, 1)
    await add_business(app_runtime, 2)
    bid = await add_business(app_runtime, 3)
    await open_detail(user, bid)
    await user.should_see("Why: queued, 2 ahead of it")


async def test_the_page_says_why_a_failed_business_stopped(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    bid = await add_business(app_runtime, 1, status="failed", attempts=3, last_error="timeout")
    await open_detail(user, bid)
    why = user.find(marker="business-why").elements.pop()
    text = " ".join(e.text for e in why.descendants() if hasattr(e, "text"))
    assert text.startswith("Why: failed") and "timeout" in text


def value_after(content: str, label: str) -> str:
    """The value cell right after `label`'s cell in the facts grid."""
    match = re.search(rf">{re.escape(label)}</span><span[^>]*>([^<]*)</span>", content)
    assert match is not None, f"no {label!r} row in {content[:300]}"
    return match.group(1)


async def test_the_facts_card_reads_as_labels_with_times_in_the_pages_zone(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    bid = await add_business(
        app_runtime, 7, status="failed", attempts=2, last_error="<b>timeout</b>", phone=None
    )
    await open_detail(user, bid)
    facts = user.find(marker="business-facts").elements.pop()
    content = str(facts.content)
    for label, value in (
        ("Place id", "place-7"),
        ("Location", "Clifton, NJ"),
        ("Attempts", "2"),
        ("Phone", "—"),
        ("Started", "—"),
        ("Last error", "&lt;b&gt;timeout&lt;/b&gt;"),  # escaped, not markup
    ):
        assert value_after(content, label) == value, label
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", value_after(content, "Found"))
    assert "place_id" not in content and "last_error" not in content


async def test_a_failing_audit_leaves_the_business_unchanged(
    user: User, admin: SignedIn, app_runtime: Runtime, audit_down: None
) -> None:
    bid = await add_business(app_runtime, 1, status="failed", attempts=3, last_error="timeout")
    await open_detail(user, bid)
    user.find(marker="business-requeue").click()
    await user.should_see("the audit log is unavailable", retries=50)
    user.find(marker="business-skip").click()
    await user.should_see("the audit log is unavailable", retries=50)
    assert await status_of(app_runtime, bid) == "failed"
    [row] = (
        await app_runtime.api.select("pipeline_businesses", filters=[Filter("id", "eq", bid)])
    ).rows
    assert (row["attempts"], row["last_error"]) == (3, "timeout")


async def test_a_failing_audit_leaves_outreach_unchanged(
    user: User, admin: SignedIn, app_runtime: Runtime, audit_down: None
) -> None:
    bid = await add_business(app_runtime, 1, status="deployed")
    q = await add_site(app_runtime, bid, outreach_status="failed")
    await open_detail(user, bid)
    user.find(marker="business-retry_outreach").click()
    await user.should_see("the audit log is unavailable", retries=50)
    rows = await app_runtime.api.select(
        "qualified_businesses", filters=[Filter("id", "eq", q["id"])]
    )
    assert rows.rows[0]["outreach_status"] == "failed"


async def test_retry_outreach_puts_a_failed_campaign_back_to_pending_and_audits_it(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    bid = await add_business(app_runtime, 1, status="deployed")
    q = await add_site(app_runtime, bid, outreach_status="failed", outreach_error="smartlead: 429")
    await open_detail(user, bid)
    user.find(marker="business-retry_outreach").click()
    await user.should_see("Done: retry outreach", retries=50)
    [row] = (
        await app_runtime.api.select("qualified_businesses", filters=[Filter("id", "eq", q["id"])])
    ).rows
    assert row["outreach_status"] == "pending"
    [entry] = (await app_runtime.api.select("admin_audit_log")).rows
    assert (entry["action"], entry["target"]) == (
        "outreach_retried",
        f"qualified_businesses:{q['id']}",
    )
    assert entry["details"] == {
        "before": {"outreach_status": "failed"},
        "after": {"outreach_status": "pending"},
    }
    # pending now: once the page has redrawn, the button is greyed out and says why

    async def greyed_out() -> bool:
        return _disabled_because(user, "business-retry_outreach") is not None

    await settle(greyed_out, timeout=live.FALLBACK_POLL_SECONDS * 2)
    assert _disabled_because(user, "business-retry_outreach") == (
        "Outreach is pending; only failed, stopped, skipped or bounced outreach can be retried."
    )


def _disabled_because(user: User, marker: str) -> str | None:
    """The tooltip of the greyed-out button `marker`; None while it is enabled."""
    [button] = user.find(marker=marker).elements
    if button.enabled:  # type: ignore[attr-defined]
        return None
    holder = button.parent_slot.parent  # type: ignore[union-attr]
    [tip] = [t for t in user.find(ui.tooltip).elements if t.props["target"] == f"#{holder.html_id}"]
    return str(tip.text)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("status", "outreach", "reasons"),
    [
        ("queued", None, {
            "business-requeue":
                "Only failed or skipped businesses can be requeued; this one is queued.",
            "business-retry_outreach":
                "This business has no deployed site yet, so there is no outreach to retry.",
        }),
        ("failed", None, {
            "business-retry_outreach":
                "This business has no deployed site yet, so there is no outreach to retry.",
        }),
        ("deployed", "failed", {
            "business-requeue":
                "Only failed or skipped businesses can be requeued; this one is deployed.",
            "business-skip":
                "Only queued or failed businesses can be skipped; this one is deployed.",
        }),
        ("deployed", "replied", {
            "business-requeue":
                "Only failed or skipped businesses can be requeued; this one is deployed.",
            "business-skip":
                "Only queued or failed businesses can be skipped; this one is deployed.",
            "business-retry_outreach":
                "Outreach is replied; only failed, stopped, skipped or bounced outreach can be"
                " retried.",
        }),
    ],
)  # fmt: skip
async def test_an_action_that_does_not_apply_is_greyed_out_and_says_why(
    user: User,
    admin: SignedIn,
    app_runtime: Runtime,
    status: str,
    outreach: str | None,
    reasons: dict[str, str],
) -> None:
    bid = await add_business(app_runtime, 1, status=status)
    if outreach is not None:
        await add_site(app_runtime, bid, outreach_status=outreach)
    await open_detail(user, bid)
    shown = {
        marker: _disabled_because(user, marker)
        for marker in ("business-requeue", "business-skip", "business-retry_outreach")
    }
    assert {m: r for m, r in shown.items() if r is not None} == reasons


async def test_an_action_on_a_page_drawn_before_a_change_is_refused_and_says_why(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    """The buttons reflect the business as the page drew it; the action checks again."""
    bid = await add_business(app_runtime, 1, status="deployed")
    q = await add_site(app_runtime, bid, outreach_status="failed")
    await open_detail(user, bid)
    [poll] = user.find(marker="page-poll").elements  # without a live bus the page polls:
    poll.deactivate()  # type: ignore[attr-defined]  # no redraw in this test
    assert _disabled_because(user, "business-retry_outreach") is None
    await app_runtime.api.update(
        "qualified_businesses",
        {"outreach_status": "pending"},
        filters=[Filter("id", "eq", q["id"])],
    )
    user.find(marker="business-retry_outreach").click()
    await user.should_see(
        "Outreach is pending; only failed, stopped, skipped or bounced outreach can be retried.",
        retries=50,
    )
    assert await audit_actions(app_runtime) == []


async def test_an_action_and_its_audit_row_name_the_status_before_and_after(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    bid = await add_business(app_runtime, 1, status="skipped")
    await open_detail(user, bid)
    user.find(marker="business-requeue").click()
    await settle(lambda: _status_is(app_runtime, bid, "queued"))
    assert await audit_actions(app_runtime) == ["business_requeued"]
    [entry] = (await app_runtime.api.select("admin_audit_log")).rows
    assert entry["details"] == {"before": {"status": "skipped"}, "after": {"status": "queued"}}
    assert (entry["actor_email"], str(entry["actor_id"])) == (admin.email, admin.user_id)


async def _status_is(runtime: Runtime, bid: int, status: str) -> bool:
    return await status_of(runtime, bid) == status


async def test_requeue_all_failed_writes_nothing_when_its_audit_row_fails(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    bid = await add_business(app_runtime, 1, status="failed", attempts=3, last_error="timeout")
    # only the requeue's own audit row is refused; the step-up's is written
    async with audit_refusing(app_runtime, "new.action = 'businesses_requeued'"):
        await requeue_all_failed(user, admin.fresh_code())
        await user.should_see("Nothing was requeued: the audit log is unavailable", retries=50)
    assert await status_of(app_runtime, bid) == "failed"
    assert "businesses_requeued" not in await audit_actions(app_runtime)


async def test_a_database_failure_nobody_expected_is_told_to_the_admin(
    user: User,
    admin: SignedIn,
    app_runtime: Runtime,
    audit_down: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The step-up before a bulk requeue writes an audit row; with the audit log down,
    the click fails outside any handler's except, and the page says so."""
    bid = await add_business(app_runtime, 1, status="failed", attempts=3, last_error="timeout")
    await requeue_all_failed(user, admin.fresh_code())
    await user.should_see(
        "The database refused this: the audit log is unavailable. That step was not saved;",
        retries=50,
    )
    assert await status_of(app_runtime, bid) == "failed"
    expect_logged_errors(caplog, "the audit log is unavailable")


async def test_a_live_refresh_keeps_the_page_drawn_while_it_reads(
    user: User, admin: SignedIn, app_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page reads first and redraws in one step, so a slow read never leaves the
    admin looking at an empty page."""
    bid = await add_business(app_runtime, 1, status="failed")
    await open_detail(user, bid)
    # the page's module as this test's app imported it: NiceGUI's test teardown drops
    # page modules from sys.modules, so a module imported at this file's top may be an
    # older copy than the one serving the page
    page_module = sys.modules["dashboard.pages.business_detail"]
    original = page_module.load_business
    reads: list[str] = []

    async def slow_read(business_id: int) -> dict[str, Any] | None:
        reads.append("started")
        await asyncio.sleep(0.3)
        found = await original(business_id)
        reads.append("done")
        return found

    monkeypatch.setattr(page_module, "load_business", slow_read)
    # without a live bus the page refreshes by a poll timer: stopped, and run by hand
    [poll] = user.find(marker="page-poll").elements
    poll.deactivate()  # type: ignore[attr-defined]
    with poll.parent_slot:  # type: ignore[attr-defined]
        refresh = asyncio.create_task(poll.callback())  # type: ignore[attr-defined]
    looks = 0
    while not refresh.done():
        assert user.find(marker="business-facts").elements
        looks += 1
        await asyncio.sleep(0.02)
    await refresh
    assert reads == ["started", "done"] and looks >= 5
    assert user.find(marker="business-facts").elements


async def test_open_site_links_to_the_site_on_the_sites_origin(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    bid = await add_business(app_runtime, 1, status="deployed")
    await add_site(app_runtime, bid, preview_url="/sites/abcd1234/")  # as seeded: relative
    await open_detail(user, bid)
    link = user.find(marker="business-site").elements.pop()
    expected = f"{app_runtime.settings.sites_url}/sites/abcd1234/"
    assert expected.startswith("http") and link.props["href"] == expected


async def test_a_suspended_site_says_it_is_taken_down_instead_of_a_dead_link(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    bid = await add_business(app_runtime, 1, status="deployed")
    await add_site(app_runtime, bid, site_status="suspended")
    await open_detail(user, bid)
    await user.should_see("site abcd1234 is taken down (suspended)")
    await user.should_not_see("open site abcd1234")


async def test_retry_outreach_on_a_paid_business_is_greyed_out_and_says_why(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    from datetime import UTC, datetime

    bid = await add_business(app_runtime, 1, status="deployed")
    await add_site(
        app_runtime, bid, outreach_status="stopped", claimed=True, claimed_at=datetime.now(UTC)
    )
    await open_detail(user, bid)
    reason = _disabled_because(user, "business-retry_outreach")
    assert reason is not None and reason.startswith("This business has paid for its site")


async def test_retry_outreach_is_refused_when_the_business_paid_after_the_page_was_drawn(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    from datetime import UTC, datetime

    bid = await add_business(app_runtime, 1, status="deployed")
    q = await add_site(app_runtime, bid, outreach_status="stopped")
    await open_detail(user, bid)
    [poll] = user.find(marker="page-poll").elements
    poll.deactivate()  # type: ignore[attr-defined]  # the page keeps showing it unpaid
    assert _disabled_because(user, "business-retry_outreach") is None
    await app_runtime.api.update(
        "qualified_businesses",
        {"claimed": True, "claimed_at": datetime.now(UTC)},
        filters=[Filter("id", "eq", q["id"])],
    )
    user.find(marker="business-retry_outreach").click()
    await user.should_see("This business has paid for its site", retries=50)
    [row] = (
        await app_runtime.api.select("qualified_businesses", filters=[Filter("id", "eq", q["id"])])
    ).rows
    assert row["outreach_status"] == "stopped"
    assert "outreach_retried" not in await audit_actions(app_runtime)
