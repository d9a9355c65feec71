"""`/reconcile`: an admin sees each mismatch and its fix; a click repairs it and audits."""

from __future__ import annotations

from typing import Any

import pytest
from nicegui.testing import User

from dashboard.backends.base import Filter
from dashboard.outreach import SERVICE_KEY
from dashboard.payments import reconcile
from dashboard.runtime import Runtime
from tests.admin_session import SignedIn, settle
from tests.factories import add_business
from tests.routes_support import FakeProvider

pytestmark = pytest.mark.usefixtures("app_runtime")  # opens the runtime for the User fixture


async def paid_but_emailed(runtime: Runtime) -> dict[str, Any]:
    """A business the owner paid for while its outreach campaign still runs."""
    bid = await add_business(runtime, 1, status="deployed")
    [row] = await runtime.api.insert(
        "qualified_businesses",
        [{"pipeline_business_id": bid, "uuid": "paid0001", "name": "Bakery 1",
          "place_id": "place-1", "category": "bakery", "city": "Clifton", "region": "NJ",
          "preview_url": "https://x.test/paid0001", "site_status": "active",
          "outreach_status": "started", "outreach_campaign_id": "camp-1",
          "outreach_lead_id": "lead-1", "claimed": True, "claimed_at": "2026-01-02T03:04:05Z",
          "stripe_payment_id": "pi_1", "customer_email": "owner@x.test"}],
    )  # fmt: skip
    return row


async def test_a_paid_business_still_emailed_is_stopped_by_one_click_and_audited(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    provider = FakeProvider()
    app_runtime.services[SERVICE_KEY] = provider
    row = await paid_but_emailed(app_runtime)
    await user.open("/reconcile")
    await user.should_see("Paid, but outreach is still running: 1", retries=100)
    [link] = user.find(marker="business-link-paid0001").elements
    assert link.props["href"] == f"/businesses/{row['pipeline_business_id']}"
    user.find(marker="fix-paid_outreach_running-paid0001").click()
    await user.should_see("Stop outreach: done for paid0001", retries=100)
    await settle(lambda: _outreach_is(app_runtime, row["id"], "stopped"))
    assert provider.stopped == ["lead-1"]
    [entry] = (await app_runtime.api.select("admin_audit_log")).rows
    assert (entry["action"], entry["target"]) == ("reconcile_fix", "paid_outreach_running:paid0001")
    assert (entry["actor_email"], str(entry["actor_id"])) == (admin.email, admin.user_id)
    await user.should_see(marker="reconcile-clean", retries=50)


async def _outreach_is(runtime: Runtime, qid: int, status: str) -> bool:
    page = await runtime.api.select("qualified_businesses", filters=[Filter("id", "eq", qid)])
    return bool(page.rows[0]["outreach_status"] == status)


async def test_a_signed_out_admin_cannot_fix(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    app_runtime.services[SERVICE_KEY] = provider = FakeProvider()
    row = await paid_but_emailed(app_runtime)
    await user.open("/reconcile")
    await user.should_see(marker="fix-paid_outreach_running-paid0001", retries=100)
    await admin.sign_out()
    user.find(marker="fix-paid_outreach_running-paid0001").click()
    await settle(lambda: _navigated_to_login(user))
    assert provider.stopped == []
    assert await _outreach_is(app_runtime, row["id"], "started")
    assert (await app_runtime.api.select("admin_audit_log")).rows == []


async def _navigated_to_login(user: User) -> bool:
    return user.back_history[-1].startswith("/login") if user.back_history else False


async def test_a_list_cut_at_the_limit_says_so_and_how_to_fix_them_all(
    user: User, admin: SignedIn, app_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reconcile, "LIMIT", 1)
    await paid_but_emailed(app_runtime)
    await user.open("/reconcile")
    await user.should_see(marker="finding-paid_outreach_running-paid0001", retries=100)
    await user.should_see(marker="partial-paid_outreach_running")
    [note] = user.find(marker="partial-paid_outreach_running").elements
    assert note.text.startswith("Paid, but outreach is still running: more than 1 found;")  # type: ignore[attr-defined]
    assert "cliftonsites reconcile --fix" in note.text  # type: ignore[attr-defined]
    user.should_not_see(marker="partial-claimed_site_inactive")


@pytest.mark.parametrize(
    ("result", "says", "changed"),
    [
        ({"status": "processed"}, "Process again: done for evt_1", True),
        (
            {"status": "failed", "detail": "paid twice: payment pi_2 arrived after pi_1;"
             " refund one of them"},
            "Process again: nothing changed for evt_1 (paid twice: payment pi_2 arrived"
            " after pi_1; refund one of them). In the Stripe dashboard, open Payments, find"
            " the later payment and refund it;",
            False,
        ),
        ({"status": "duplicate", "detail": "event evt_1 was already processed"},
         "Process again: nothing changed for evt_1 (event evt_1 was already processed).", False),
        ({"status": "ignored"}, "Process again: nothing changed for evt_1 (ignored).", False),
        ({"activated": False, "note": "the site is already active"},
         "Process again: nothing changed for evt_1 (the site is already active).", False),
        ({"outcome": "already", "detail": "outreach is started"},
         "Process again: nothing changed for evt_1 (outreach is started).", False),
        ({"stopped": True}, "Process again: done for evt_1", True),
    ],
)  # fmt: skip
def test_a_fix_that_changed_nothing_never_says_done(
    result: dict[str, Any], says: str, changed: bool
) -> None:
    finding = reconcile.Finding("stripe_event_failed", "evt_1", "failed: boom")
    told, did = reconcile.fix_message(finding, result)
    assert told.startswith(says) and did is changed
