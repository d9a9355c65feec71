"""The overview page: what a signed-in admin sees, and what its command buttons write."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from nicegui import ui
from nicegui.testing import User

from dashboard.backends.base import Filter
from dashboard.components.cards import CommandButton
from dashboard.data.automation import log_automation_event, report_automation_heartbeat
from dashboard.live.bus import LiveBus
from dashboard.live.service import start_live, stop_live
from dashboard.runtime import Runtime
from tests.admin_session import SignedIn
from tests.dbutil import eventually

pytestmark = pytest.mark.usefixtures("app_runtime")  # opens the runtime for the User fixture


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
    await user.should_see("updated by")  # its own row: "updated <time> by —" wrapped badly
    await user.should_see("Latest runs")
    assert len(user.find(ui.plotly).elements) == 3


async def test_a_stale_worker_shows_a_stale_banner(
    user: User,
    admin: SignedIn,
    app_runtime: Runtime,
) -> None:
    await user.open("/")
    # Neither process ever sent a heartbeat: both are stale, and the banner says how to
    # start a worker rather than giving an age.
    await user.should_see(
        "No worker has reported yet. Start one: cliftonsites worker --process implementation"
    )
    user.should_not_see("heartbeat for never")
    async with await psycopg.AsyncConnection.connect(app_runtime.database_url) as conn:
        await conn.execute(
            "update public.automation_status set state = 'running',"
            " last_heartbeat_at = now() - interval '10 minutes 3 seconds'"
            " where process = 'identification'"
        )
    await user.open("/")
    await user.should_see("Stale: no heartbeat for")
    # the age is a span the browser ticks on: 10m 03s, a few seconds more if slow
    await user.should_see('">10m 0')
    await user.should_see(
        "The worker may be down: check its log, or start one:"
        " cliftonsites worker --process identification"
    )


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
    page = await app_runtime.api.select(
        "admin_audit_log", filters=[Filter("action", "eq", "command_sent")]
    )
    [audit] = page.rows
    assert (str(audit["actor_id"]), audit["actor_email"]) == (admin.user_id, admin.email)


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
    user.find(marker="cmd-implementation-stop").click()
    await user.should_see("Stops 0 implementation worker(s)", retries=20)
    user.find(marker="step-up-code").type("000000")
    user.find(marker="step-up-confirm").click()
    await user.should_see("nothing was sent", retries=20)
    assert await commands(app_runtime) == []


def refusal_of(user: User, marker: str) -> str | None:
    [button] = user.find(marker=marker).elements
    return button.props.get("title") if button.props.get("disable") else None


async def test_a_command_that_would_change_nothing_is_greyed_out_and_asks_no_code(
    user: User,
    admin: SignedIn,
    app_runtime: Runtime,
) -> None:
    await open_overview(user)
    # both processes run and nothing is stale: start, resume and reset stale do nothing
    assert refusal_of(user, "cmd-implementation-start") == (
        "Implementation is running, not stopped: nothing to start."
    )
    assert refusal_of(user, "cmd-implementation-resume") == (
        "Implementation is running, not paused: nothing to resume."
    )
    assert refusal_of(user, "cmd-implementation-reset_stale") == (
        "No started business is past the stale limit: nothing to reset."
    )
    assert refusal_of(user, "cmd-implementation-pause") is None
    assert refusal_of(user, "cmd-implementation-stop") is None
    assert refusal_of(user, "cmd-implementation-run_once") is None
    # a click that lands anyway (a page drawn before a change) is refused before any code
    user.find(marker="cmd-implementation-reset_stale").click()
    await user.should_see("Not sent: No started business is past the stale limit", retries=20)
    user.should_not_see(marker="step-up-code")
    assert await commands(app_runtime) == []
    # the buttons follow the state live: after a pause, Resume is the one that acts
    user.find(marker="cmd-implementation-pause").click()
    await settle(lambda: _has(app_runtime, command="pause"))
    await eventually(
        lambda: refusal_of(user, "cmd-implementation-resume") is None, 5, "Resume enabled"
    )
    assert refusal_of(user, "cmd-implementation-pause") == (
        "Implementation is paused: only a running process can pause."
    )


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


async def test_a_page_left_open_goes_to_the_login_page_soon_after_a_logout_elsewhere(
    user: User, admin: SignedIn, app_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dashboard.auth import ui as auth_ui

    monkeypatch.setattr(auth_ui, "SESSION_WATCH_SECONDS", 0.2)
    await open_overview(user)
    await asyncio.sleep(0.5)  # a few watch rounds while the session holds
    await user.should_see(marker="cmd-implementation-pause")
    await admin.sign_out()
    await user.should_see(marker="password", retries=30)


async def test_open_overviews_share_one_chart_read_per_interval(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    from dashboard.pages.overview import shared_charts

    await open_overview(user)
    charts = shared_charts()
    await settle(lambda: _async(charts.reads == 1))  # the first page's charts are drawn
    await open_overview(user)  # a second page (and its charts) within the interval
    await asyncio.sleep(0.5)  # the point: the second page's charts read nothing new
    assert user.find(ui.plotly).elements and charts.reads == 1
    assert charts.data is not None and await charts.get() is charts.data
    charts.read_at -= 60  # the interval has passed
    await charts.get()
    assert charts.reads == 2


TARGETS = """
insert into public.identification_targets (position, city, region, category) values
  (1, 'Bath', 'England', 'baker'), (2, 'York', 'England', 'florist');
insert into public.pipeline_businesses (place_id, name, category, city, region, target_id)
select 'place-' || t.position, 'Shop ' || t.position, t.category, t.city, t.region, t.id
from public.identification_targets t;
"""


async def test_every_overview_shares_one_list_of_funnel_targets_and_a_pick_shows_its_funnel(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    from dashboard.pages.overview import shared_charts

    await commit(app_runtime, TARGETS)
    labels = ["All targets", "baker in Bath, England", "florist in York, England"]
    await open_overview(user)
    (first,) = user.find(marker="funnel-target").elements
    assert isinstance(first, ui.select)
    await settle(lambda: _async(list(first.options.values()) == labels))  # charts drawn
    await open_overview(user)  # a second page gets the very same option list, not a copy
    (second,) = user.find(marker="funnel-target").elements
    assert isinstance(second, ui.select) and second is not first
    await settle(lambda: _async(list(second.options.values()) == labels))
    assert second.props["options"] is first.props["options"]
    assert [o["label"] for o in second.props["options"]] == labels
    york = next(key for key, label in second.options.items() if label.startswith("florist"))
    second.set_value(york)
    (funnel,) = [p for p in user.find(ui.plotly).elements if "funnel" in str(p.figure)]
    assert funnel.figure["layout"]["title"]["text"].endswith("florist in York, England")
    data = shared_charts().data
    assert data is not None and funnel.figure is data.figures[("funnel", york)]
    assert second.props["options"] is first.props["options"]  # still shared after a pick


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


def card_blocks(user: User, marker: str) -> list[ui.html]:
    """The html blocks of the card marked `marker` (a card's facts are one block)."""
    (card,) = user.find(marker=marker).elements
    return [e for e in card.descendants(include_self=True) if isinstance(e, ui.html)]


def facts_of(block: ui.html) -> dict[str, str]:
    """The `name  value` pairs a block shows, as the browser reads them (unescaped)."""
    pairs = FACT.findall(block.content)
    return {html.unescape(name): html.unescape(value) for name, value in pairs}


def fact(user: User, marker: str, name: str) -> str:
    """The value shown beside `name` in the card marked `marker`."""
    (value,) = [facts_of(b)[name] for b in card_blocks(user, marker) if name in facts_of(b)]
    return value


def lines_of(block: ui.html, kind: str) -> list[str]:
    """The text of each `kind` row (`log-line`, `run-row`) in a block, in page order."""
    rows = re.findall(rf'<div class="{kind}[^"]*">(.*?)</div>', block.content)
    cells = [[html.unescape(c) for c in re.split(r"<[^>]+>", row) if c.strip()] for row in rows]
    return [" ".join(row) for row in cells]  # a row's cells, one space apart


FACT = re.compile(r'<span class="text-gray-500">(.*?)</span><span class="font-mono[^"]*">(.*?)<')


async def commit(runtime: Runtime, statement: str, *params: Any) -> None:
    """Committed by another connection, as a worker would."""
    async with await psycopg.AsyncConnection.connect(runtime.database_url) as conn:
        await conn.execute(statement, params)


async def test_a_snapshot_updates_the_cards_in_place_without_recreating_them(
    user: User, admin: SignedIn, app_runtime: Runtime, bus: LiveBus[Any]
) -> None:
    await open_overview(user)
    assert fact(user, "queue-card", "queued") == "0"
    before = {block.id: block.content for block in card_blocks(user, "queue-card")}
    buttons = {e.id for e in user.find(CommandButton).elements}
    assert len(buttons) == 12  # six commands for each of the two processes
    for n in (1, 2):  # two snapshots, each changing the count
        await commit(app_runtime, INSERT_BUSINESS, f"place-{n}")
        await settle(lambda n=n: _async(fact(user, "queue-card", "queued") == str(n)))
    assert fact(user, "queue-card", "total") == "2"
    after = {block.id: block.content for block in card_blocks(user, "queue-card")}
    assert after.keys() == before.keys()  # the same elements, their content changed
    assert all(after[key] != before[key] for key in before)
    assert {e.id for e in user.find(CommandButton).elements} == buttons


CARDS = ("queue-card", "identification-card", "config-card", "runs-card", "logs-card")


def card_strings(user: User) -> list[str]:
    """The content of each display card's block on the current page."""
    return [block.content for card in CARDS for block in card_blocks(user, card)]


async def test_open_overviews_hold_one_rendered_string_per_card_and_snapshot(
    user: User, admin: SignedIn, app_runtime: Runtime, bus: LiveBus[Any]
) -> None:
    await open_overview(user)
    first = card_strings(user)
    await open_overview(user)
    assert all(a is b for a, b in zip(first, card_strings(user), strict=True))
    await commit(app_runtime, INSERT_BUSINESS, "place-shared")
    await settle(lambda: _async(fact(user, "queue-card", "queued") == "1"))
    second = card_strings(user)
    assert second[0] is not first[0]  # the queue card changed...
    await open_overview(user)  # ...and a page opened now holds the string the others show
    assert all(a is b for a, b in zip(second, card_strings(user), strict=True))


def identified(plot: ui.plotly) -> int:
    """The businesses a throughput chart shows as identified, over all its hours."""
    return sum(plot.figure["data"][0]["y"]) if plot.figure["data"] else 0


async def test_open_overviews_charts_follow_a_change_with_one_read_for_all_of_them(
    user: User,
    admin: SignedIn,
    app_runtime: Runtime,
    bus: LiveBus[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dashboard.pages import overview

    monkeypatch.setattr(overview, "CHART_SECONDS", 0.5)
    monkeypatch.setattr(overview, "CHART_CHECK_SECONDS", 0.1)
    plots = []
    for _ in range(2):
        await open_overview(user)
        plots.append(
            next(p for p in user.find(ui.plotly).elements if "Throughput" in str(p.figure))
        )
    charts = overview.shared_charts()
    await asyncio.sleep(1.0)  # both pages have drawn their charts; the interval has passed
    reads = charts.reads
    assert [identified(p) for p in plots] == [0, 0]
    await commit(app_runtime, INSERT_BUSINESS, "place-chart")
    await settle(lambda: _async([identified(p) for p in plots] == [1, 1]), timeout=5)
    assert charts.reads == reads + 1  # both pages were brought up to date by one read
    assert plots[0].figure is plots[1].figure


async def test_recent_logs_show_newest_first_and_old_lines_stay_as_they_were(
    user: User, admin: SignedIn, app_runtime: Runtime, bus: LiveBus[Any]
) -> None:
    await log_automation_event(app_runtime.api, "implementation", "warning", "first line")
    await open_overview(user)
    await user.should_see("first line", retries=20)
    (box,) = user.find(marker="logs-list").elements
    (first_line,) = lines_of(box, "log-line")
    assert " UTC  implementation  WARNING  first line" in first_line
    await commit(
        app_runtime, "select public.log_automation_event('system', 'error', %s)", "second line"
    )
    await user.should_see("second line", retries=50)
    lines = lines_of(box, "log-line")
    assert [line.rsplit("  ", 1)[-1] for line in lines] == ["second line", "first line"]
    assert lines[1] == first_line  # the old line is kept as it was, in the same block
    assert user.find(marker="logs-list").elements == {box}


async def test_a_new_run_joins_the_latest_runs_and_its_status_changes_in_place(
    user: User, admin: SignedIn, app_runtime: Runtime, bus: LiveBus[Any]
) -> None:
    await open_overview(user)
    await user.should_see("No runs yet")
    await commit(app_runtime, "select public.start_automation_run('implementation', 'w-1')")
    await user.should_see("#1", retries=50)
    (box,) = user.find(marker="runs-list").elements
    (row,) = lines_of(box, "run-row")
    assert row.startswith("#1 implementation running")
    await commit(app_runtime, "select public.finish_automation_run(1, 'succeeded', 3, 1)")
    await user.should_see("3 ok, 1 failed", retries=50)
    assert user.find(marker="runs-list").elements == {box}  # the same block, updated
    (row,) = lines_of(box, "run-row")
    assert row.startswith("#1 implementation succeeded")
    assert 'class="status-badge tone-success" data-tone="success">succeeded' in box.content


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


async def test_text_from_the_database_is_escaped_in_the_html_blocks(
    user: User, admin: SignedIn, app_runtime: Runtime
) -> None:
    hostile = '<img src=x onerror=alert(1)> & "quoted"'
    await log_automation_event(app_runtime.api, "implementation", "error", hostile)
    await open_overview(user)
    (box,) = user.find(marker="logs-list").elements
    assert "<img" not in box.content
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quoted&quot;" in box.content
    assert lines_of(box, "log-line")[0].endswith(hostile)
