"""`/alerts`: bad input shows at its field and saves nothing; a good edit is audited
with before and after; a signed link asks for a click (and sign-in) before it acts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from nicegui import ui
from nicegui.testing import User

from dashboard.alerts.messages import sign
from dashboard.data import alerts as store
from dashboard.runtime import Runtime
from tests.admin_session import SignedIn
from tests.dbutil import sql

pytestmark = pytest.mark.usefixtures("app_runtime")  # opens the runtime for the User fixture


def rule_row(runtime: Runtime, kind: str) -> dict[str, object]:
    (row,) = sql(
        runtime.database_url, "select * from admin_private.alert_rules where kind = %s", (kind,)
    )
    return row


def audit_actions(runtime: Runtime) -> list[str]:
    rows = sql(runtime.database_url, "select action from public.admin_audit_log order by id")
    return [str(r["action"]) for r in rows if str(r["action"]).startswith("alert_")]


def box(user: User, marker: str) -> ui.input:
    (element,) = user.find(marker=marker).elements
    assert isinstance(element, ui.input)
    return element


async def test_bad_input_shows_at_the_field_and_nothing_is_saved(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    await user.open("/alerts")
    await user.should_see(marker="failure_spike-save", retries=100)
    before = rule_row(app_runtime, "failure_spike")
    box(user, "failure_spike-threshold").value = "lots"
    box(user, "failure_spike-reminder_minutes").value = "0"
    box(user, "failure_spike-email_to").value = "ops@example.com, not an address"
    user.find(marker="failure_spike-save").click()
    await user.should_see("nothing was saved", retries=50)
    assert "valid number" in str(box(user, "failure_spike-threshold").error)
    assert "greater than or equal to 1" in str(box(user, "failure_spike-reminder_minutes").error)
    assert "is not an email address" in str(box(user, "failure_spike-email_to").error)
    assert rule_row(app_runtime, "failure_spike") == before
    assert audit_actions(app_runtime) == []


async def test_a_good_edit_is_saved_and_audited_with_before_and_after(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    await user.open("/alerts")
    await user.should_see(marker="failure_spike-save", retries=100)
    box(user, "failure_spike-threshold").value = "5"
    box(user, "failure_spike-email_to").value = "night@example.com"
    user.find(marker="failure_spike-save").click()
    await user.should_see("Saved rule failure_spike", retries=50)
    row = rule_row(app_runtime, "failure_spike")
    assert (float(str(row["threshold"])), row["email_to"]) == (5.0, ["night@example.com"])
    (entry,) = sql(
        app_runtime.database_url,
        "select * from public.admin_audit_log where action = 'alert_rule_updated'",
    )
    assert entry["actor_email"] == admin.email and entry["target"] == "failure_spike"
    assert entry["details"]["before"]["threshold"] == 20
    assert entry["details"]["after"]["threshold"] == 5
    assert entry["details"]["after"]["email_to"] == ["night@example.com"]


async def firing_alert(runtime: Runtime) -> int:
    db = runtime.db
    await store.list_rules(db)
    async with db.owner() as conn:
        now = datetime.now(UTC)
        alert = await store.insert_alert(
            conn,
            "worker_silent",
            "implementation",
            "implementation worker silent for 2m",
            "/system",
            {},
            now,
            now,
        )
        alert.status, alert.fired_at, alert.notified = "firing", now, True
        await store.save_alert(conn, alert)
    return alert.id


async def test_a_signed_acknowledge_link_asks_for_a_click_then_acknowledges(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    alert_id = await firing_alert(app_runtime)
    secret = app_runtime.settings.secret_key
    action = f"ack:{alert_id}"
    await user.open(f"/alerts?do={action}&sig={sign(secret, action)}")
    await user.should_see(f"Acknowledge alert #{alert_id}?", retries=100)
    assert (await store.firing_alerts(app_runtime.db))[0].acked_at is None  # not on GET
    user.find(marker="confirm-link").click()
    await user.should_see(f"Acknowledged #{alert_id}", retries=50)
    (alert,) = await store.firing_alerts(app_runtime.db)
    assert alert.acked_by == admin.email
    assert audit_actions(app_runtime) == ["alert_acknowledged"]


async def test_a_changed_link_does_nothing(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    alert_id = await firing_alert(app_runtime)
    await user.open(f"/alerts?do=ack:{alert_id}&sig=0123456789abcdef0123456789abcdef")
    await user.should_see("This link is not valid", retries=100)
    user.should_not_see(marker="confirm-link")


async def test_a_signed_link_still_asks_for_sign_in(user: User, app_runtime: Runtime) -> None:
    secret = app_runtime.settings.secret_key
    await user.open(f"/alerts?do=ack:1&sig={sign(secret, 'ack:1')}")
    await user.should_see(marker="email", retries=100)  # the sign-in form
    user.should_not_see("Acknowledge alert #1?")


async def test_the_acknowledge_button_acknowledges_and_redraws_this_page(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    alert_id = await firing_alert(app_runtime)
    await user.open("/alerts")
    await user.should_see(marker=f"ack-{alert_id}", retries=100)
    user.find(marker=f"ack-{alert_id}").click()
    await user.should_see(f"Acknowledged #{alert_id}", retries=50)
    await user.should_see("acknowledged by", retries=50)
    user.should_not_see(marker=f"ack-{alert_id}")
