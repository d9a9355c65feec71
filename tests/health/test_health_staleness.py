"""The staleness clock and the health bar: a silent worker turns stale on an open page
with no database write, once per process; paused reasons and the finished grid show."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from nicegui.testing import User

from dashboard.components.cards import grid_finished, status_badge
from dashboard.components.ticking import since_html, ticker_script
from dashboard.data.automation import report_automation_heartbeat
from dashboard.data.models import DashboardSnapshot, IdentificationProgress, ProcessStatus
from dashboard.health.staleness import StalenessClock, next_crossing
from dashboard.health.summary import ActiveAlert, health_items
from dashboard.live.bus import LiveBus
from dashboard.live.service import start_live, stop_live
from dashboard.runtime import Runtime
from tests.admin_session import SignedIn

pytestmark = pytest.mark.usefixtures("app_runtime")  # opens the runtime for the User fixture

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


async def commit(runtime: Runtime, statement: str, *params: Any) -> None:
    async with await psycopg.AsyncConnection.connect(runtime.database_url) as conn:
        await conn.execute(statement, params)


@pytest.fixture
async def bus_and_clock(app_runtime: Runtime) -> AsyncIterator[tuple[LiveBus[Any], StalenessClock]]:
    bus = await start_live(app_runtime)
    assert await bus.wait_for(lambda: bus.connected, 5)
    clock = StalenessClock(bus, tick=0.2)
    clock.start()
    yield bus, clock
    await clock.stop()
    await stop_live(app_runtime)


def status(**fields: Any) -> ProcessStatus:
    row: dict[str, Any] = {
        "process": "implementation",
        "state": "running",
        "desired_state": "running",
        "updated_at": NOW,
        "is_stale": False,
        "last_heartbeat_at": NOW,
    }
    row.update(fields)
    return ProcessStatus.model_validate(row)


def test_the_next_crossing_is_the_earliest_fresh_heartbeat_plus_the_stale_limit(
    app_runtime: Runtime,
) -> None:
    snapshot = snapshot_with(
        [
            status(last_heartbeat_at=NOW - timedelta(seconds=10)),
            status(process="identification", last_heartbeat_at=None, is_stale=True),
        ]
    )
    assert next_crossing(snapshot) == NOW - timedelta(seconds=10) + timedelta(seconds=60)


def snapshot_with(statuses: list[ProcessStatus]) -> DashboardSnapshot:
    config = {
        "identification_enabled": True,
        "implementation_enabled": True,
        "outreach_enabled": True,
        "batch_size": 10,
        "max_attempts": 3,
        "stale_after_minutes": 30,
        "daily_deploy_limit": 100,
        "heartbeat_stale_seconds": 60,
        "outreach_sweep_minutes": 5,
        "bounce_rate_limit": 0.1,
        "provider_failure_limit": 5,
        "pace_seconds": 1.0,
        "updated_at": NOW,
    }
    return DashboardSnapshot.model_validate(
        {
            "queue": {"counts": {}, "total": 0},
            "identification": {},
            "status": [s.model_dump() for s in statuses],
            "config": config,
            "runs": [],
            "recent_logs": [],
            "generated_at": NOW,
        }
    )


def test_a_silent_worker_badge_says_stale_not_running() -> None:
    assert status_badge(status(is_stale=True), None) == ("stale", "failed")  # red
    assert status_badge(status(is_stale=True, last_heartbeat_at=None), None)[0] == "no worker"
    assert status_badge(status(), None) == ("running", "running")


def test_a_finished_grid_shows_its_own_badge_and_a_pause_shows_paused() -> None:
    done = IdentificationProgress(total=4, done=4)
    ident = status(process="identification")
    assert grid_finished(ident, done)
    assert status_badge(ident, done) == ("grid finished", "completed")  # green
    assert not grid_finished(ident, IdentificationProgress(total=4, done=3, pending=1))
    assert status_badge(status(desired_state="paused", state="paused"), None)[0] == "paused"


def test_the_health_bar_names_each_problem_with_the_page_that_fixes_it() -> None:
    snapshot = snapshot_with(
        [
            status(is_stale=True, last_heartbeat_at=NOW - timedelta(minutes=5)),
            status(process="identification", desired_state="paused", paused_reason="limit hit"),
        ]
    )
    alert = ActiveAlert(7, "failure_spike", "25 failures in 15 min", NOW)
    items = health_items(snapshot, live_connected=False, firing=[alert], now=NOW)
    by_key = {item.key: item for item in items}
    assert by_key["live"].href == "/system"
    assert by_key["stale:implementation"].text == "implementation worker silent for"
    assert by_key["paused:identification"].text == "identification paused: limit hit"
    assert by_key["alert:7"].href == "/alerts"
    assert by_key["alerts"].text == "1 alert firing"
    assert health_items(snapshot_with([status()]), live_connected=True, now=NOW) == []


def test_relative_times_carry_their_timestamp_for_the_browser_ticker() -> None:
    html = since_html(NOW - timedelta(seconds=75), now=NOW)
    assert f'data-since="{int((NOW - timedelta(seconds=75)).timestamp() * 1000)}"' in html
    assert ">1m 15s<" in html
    assert "setInterval" in ticker_script() and "data-server-ms" in ticker_script()


async def test_an_open_overview_turns_stale_with_no_database_write(
    user: User,
    admin: SignedIn,
    app_runtime: Runtime,
    bus_and_clock: tuple[LiveBus[Any], StalenessClock],
) -> None:
    bus, clock = bus_and_clock
    await commit(app_runtime, "update public.automation_config set heartbeat_stale_seconds = 5")
    await report_automation_heartbeat(app_runtime.api, "identification", "w-1", "running")
    await report_automation_heartbeat(app_runtime.api, "implementation", "w-1", "running")
    assert await bus.wait_for(
        lambda: bus.snapshot is not None and not any(s.is_stale for s in bus.snapshot.status),
        5,
    )
    await user.open("/")
    await user.should_see("All healthy", retries=100)
    user.should_not_see("Stale: no heartbeat")
    started, version = time.monotonic(), bus.version
    # Nothing is written from here on: only time passes.
    await user.should_see("Stale: no heartbeat", retries=200)
    await user.should_see("implementation worker silent for")
    waited = time.monotonic() - started
    assert waited < 5 + 3, f"stale shown {waited:.1f}s after the last heartbeat"
    assert clock.refreshes >= 1 and bus.version > version
    before = clock.refreshes
    await asyncio.sleep(1.0)  # once stale, the clock asks for nothing more
    assert clock.refreshes == before
