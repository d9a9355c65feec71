"""The overview page: what a signed-in admin sees, and what its command buttons write."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from nicegui import ui
from nicegui.element import Element
from nicegui.testing import User

from dashboard.backends.base import Filter
from dashboard.data.automation import log_automation_event, report_automation_heartbeat
from dashboard.live.bus import LiveBus
from dashboard.live.service import start_live, stop_live
from dashboard.runtime import Runtime
from tests import admin_session, test_auth_helpers
from tests.admin_session import SignedIn

app_runtime = test_auth_helpers.app_runtime  # autouse: opens the runtime
admin = admin_session.admin


async def open_overview(user: User) -> None:
    """Open `/` and wait until the async page has drawn its command buttons."""
    await user.open("/")
    await user.should_see(marker="cmd-implementation-pause", retries=100)


async def commands(runtime: Runtime, **eq: Any) -> list[dict[str, Any]]:
    filters = [Filter(k, "eq", v) for k, v in eq.items()]
    return (await runtime.api.select("automation_commands", filters=filters)).rows


async def settle(predicate: Any, timeout: float = 3.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_an_admin_sees_queue_progress_status_and_config(
    user: User,
    admin: SignedIn,
    app_runtime: Runtime,
) -> None:
    await report_automation_heartbeat(app_runtime.api, "implementation", "w-1", "running")
    await user.open("/")
    await user.should_see("Queue")
    await user.should_see("Identification")
    await user.should_see("Implementation")
    await user.should_see("running")
    await user.should_see("Config")
    await user.should_see("daily deploy limit")
    await user.should_see("Latest runs")
    assert len(user.find(ui.plotly).elements) == 3


async def test_a_stale_worker_shows_a_stale_banner(
    user: User,
    admin: SignedIn,
    app_runtime: Runtime,
) -> None:
    await user.open("/")
    # Neither process ever sent a heartbeat: both are stale.
    await user.should_see("Stale: no heartbeat for never")


async def test_pause_sends_a_command_as_the_admin(
    user: User,
    admin: SignedIn,
    app_runtime: Runtime,
) -> None:
    await open_overview(user)
    user.find(marker="cmd-implementation-pause").click()
    await settle(lambda: _has(app_runtime, command="pause"))
    [row] = await commands(app_runtime, command="pause")
    assert row["process"] == "implementation" and row["requested_by"] == admin.email
    await user.should_see("Sent pause to implementation")


async def _has(runtime: Runtime, **eq: Any) -> bool:
    return bool(await commands(runtime, **eq))


async def test_stop_first_shows_its_impact_and_needs_a_fresh_code(
    user: User,
    admin: SignedIn,
    app_runtime: Runtime,
) -> None:
    await open_overview(user)
    user.find(marker="cmd-implementation-stop").click()
    await user.should_see(marker="step-up-impact", retries=20)
    await user.should_see("Stops 0 implementation worker(s)")
    user.find(marker="step-up-code").type(admin.fresh_code())
    user.find(marker="step-up-confirm").click()
    await settle(lambda: _has(app_runtime, command="stop"))
    status = (await app_runtime.api.select("automation_status")).rows
    assert {r["process"]: r["desired_state"] for r in status}["implementation"] == "stopped"


async def test_a_wrong_code_sends_nothing(
    user: User,
    admin: SignedIn,
    app_runtime: Runtime,
) -> None:
    await open_overview(user)
    user.find(marker="cmd-implementation-reset_stale").click()
    await user.should_see("started business(es) older than the stale limit", retries=20)
    user.find(marker="step-up-code").type("000000")
    user.find(marker="step-up-confirm").click()
    await user.should_see("nothing was sent", retries=20)
    assert await commands(app_runtime) == []


async def test_a_malformed_code_is_refused_at_the_field(
    user: User,
    admin: SignedIn,
    app_runtime: Runtime,
) -> None:
    await open_overview(user)
    user.find(marker="cmd-identification-stop").click()
    await user.should_see(marker="step-up-code", retries=20)
    user.find(marker="step-up-code").type("12ab")
    user.find(marker="step-up-confirm").click()
    await user.should_see("Enter the 6-digit code from your authenticator app")
    assert await commands(app_runtime) == []


async def test_a_page_left_open_after_logout_cannot_act(
    user: User,
    admin: SignedIn,
    app_runtime: Runtime,
) -> None:
    await user.open("/")
    await admin.sign_out()
    await user.should_see(marker="cmd-implementation-pause", retries=100)
    user.find(marker="cmd-implementation-pause").click()
    await user.should_see("Your session has ended", retries=20)
    assert await commands(app_runtime) == []


async def test_open_overviews_share_one_chart_read_per_interval(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    from dashboard.pages.overview import shared_charts

    await open_overview(user)
    charts = shared_charts()
    await settle(lambda: _async(charts.reads == 1))  # the first page's charts are drawn
    await open_overview(user)  # a second page (and its charts) within the interval
    await asyncio.sleep(0.5)
    assert user.find(ui.plotly).elements and charts.reads == 1
    assert charts.data is not None and await charts.get() is charts.data
    charts.read_at -= 60  # the interval has passed
    await charts.get()
    assert charts.reads == 2


async def _async(value: bool) -> bool:
    return value


# --- live updates in place -----------------------------------------------------------

INSERT_BUSINESS = (
    "insert into public.pipeline_businesses (place_id, name, category, city, region)"
    " values (%s, 'Live probe', 'plumber', 'Austin', 'TX')"
)


@pytest.fixture
async def bus(app_runtime: Runtime) -> AsyncIterator[LiveBus[Any]]:
    started = await start_live(app_runtime)
    assert await started.wait_for(lambda: started.connected, 5)
    yield started
    await stop_live(app_runtime)


def card_labels(user: User, marker: str) -> list[ui.label]:
    (card,) = user.find(marker=marker).elements
    return [e for e in card.descendants() if isinstance(e, ui.label)]


def fact(user: User, marker: str, name: str) -> str:
    """The value shown beside `name` in the card marked `marker`."""
    labels = card_labels(user, marker)
    index = next(i for i, label in enumerate(labels) if label.text == name)
    return labels[index + 1].text


def texts_of(elements: list[Element]) -> list[ui.label]:
    return [e for e in elements if isinstance(e, ui.label)]


async def commit(runtime: Runtime, statement: str, *params: Any) -> None:
    """Committed by another connection, as a worker would."""
    async with await psycopg.AsyncConnection.connect(runtime.database_url) as conn:
        await conn.execute(statement, params)


async def test_a_snapshot_updates_the_cards_in_place_without_recreating_them(
    user: User, admin: SignedIn, app_runtime: Runtime, bus: LiveBus[Any]
) -> None:
    await open_overview(user)
    assert fact(user, "queue-card", "queued") == "0"
    before = {label.id for label in card_labels(user, "queue-card")}
    buttons = {e.id for e in user.find(ui.button).elements}
    for n in (1, 2):  # two snapshots, each changing the count
        await commit(app_runtime, INSERT_BUSINESS, f"place-{n}")
        await settle(lambda n=n: _async(fact(user, "queue-card", "queued") == str(n)))
    assert fact(user, "queue-card", "total") == "2"
    assert {label.id for label in card_labels(user, "queue-card")} == before
    assert {e.id for e in user.find(ui.button).elements} == buttons


async def test_recent_logs_show_newest_first_and_only_new_lines_are_added(
    user: User, admin: SignedIn, app_runtime: Runtime, bus: LiveBus[Any]
) -> None:
    await log_automation_event(app_runtime.api, "implementation", "warning", "first line")
    await open_overview(user)
    await user.should_see("first line")
    (box,) = user.find(marker="logs-list").elements
    (first_row,) = box.default_slot.children
    assert isinstance(first_row, ui.label)
    assert " UTC  implementation  WARNING  first line" in first_row.text
    await commit(
        app_runtime, "select public.log_automation_event('system', 'error', %s)", "second line"
    )
    await user.should_see("second line", retries=50)
    rows = box.default_slot.children
    assert [r.text.rsplit("  ", 1)[-1] for r in texts_of(rows)] == ["second line", "first line"]
    assert rows[1] is first_row  # the old line's row was kept, not redrawn


async def test_a_new_run_joins_the_latest_runs_and_its_status_changes_in_place(
    user: User, admin: SignedIn, app_runtime: Runtime, bus: LiveBus[Any]
) -> None:
    await open_overview(user)
    await user.should_see("No runs yet")
    await commit(app_runtime, "select public.start_automation_run('implementation', 'w-1')")
    await user.should_see("#1", retries=50)
    (box,) = user.find(marker="runs-list").elements
    (row,) = box.default_slot.children
    await commit(app_runtime, "select public.finish_automation_run(1, 'succeeded', 3, 1)")
    await user.should_see("3 ok, 1 failed", retries=50)
    assert box.default_slot.children == [row]
    assert "succeeded" in [b.text for b in row.descendants() if isinstance(b, ui.badge)]


def test_estimated_counts_are_marked_and_unknown_claims_show_a_dash() -> None:
    from dashboard.components.cards import queue_facts
    from dashboard.data.models import QueueStatistics

    queue = QueueStatistics.model_validate(
        {
            "counts": {"queued": 12, "started": 1, "deployed": 812345, "failed": 3, "skipped": 0},
            "total": 812361,
            "approximate": ["deployed"],
            "exact_up_to": 10000,
            "throughput": {"last_hour": {"deployed": 4, "claimed": None}},
        }
    )
    facts = dict(queue_facts(queue))
    assert facts["deployed"] == "≈ 812,345"
    assert facts["queued"] == "12"
    assert facts["total"] == "≈ 812,361"
    assert facts["claimed 1h / 24h"].startswith("—")
