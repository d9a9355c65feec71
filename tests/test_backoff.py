"""One backoff rule (`dashboard.backoff`) for every reconnect and retry, with the waits
each caller had before: the live bus, the worker's command listener, the outreach
listener, Smartlead's retries and the alert outbox."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from dashboard.alerts.delivery import backoff as alert_retry
from dashboard.backoff import Backoff, pause
from dashboard.worker.listener import CommandListener


def waits(backoff: Backoff, n: int) -> list[float]:
    return [backoff.failed() for _ in range(n)]


def test_each_failure_doubles_the_wait_up_to_the_cap() -> None:
    assert waits(Backoff(0.5, 10.0), 7) == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_the_outreach_listener_waits_one_second_doubling_to_a_minute() -> None:
    assert waits(Backoff(1.0, 60.0), 8) == [1, 2, 4, 8, 16, 32, 60, 60]


def test_a_reset_starts_again_from_the_first_wait() -> None:
    backoff = Backoff(0.5, 10.0)
    waits(backoff, 4)
    backoff.reset()
    assert backoff.failures == 0 and backoff.failed() == 0.5


def test_jitter_spreads_each_wait_within_its_range_after_the_cap() -> None:
    # the live bus: 0.1 s doubling to 5 s, each wait times 0.8-1.2
    bus = Backoff(0.1, 5.0, jitter=(0.8, 1.2))
    for failure, base in [(1, 0.1), (2, 0.2), (3, 0.4), (7, 5.0), (30, 5.0)]:
        for _ in range(50):
            assert base * 0.8 <= bus.delay(failure) <= base * 1.2


def test_smartlead_waits_grow_uncapped_with_up_to_a_quarter_more() -> None:
    smartlead = Backoff(0.5, jitter=(1.0, 1.25))
    for failure, base in [(1, 0.5), (2, 1.0), (3, 2.0)]:
        for _ in range(50):
            assert base <= smartlead.delay(failure) <= base * 1.25


def test_the_alert_outbox_retries_after_30_s_doubling_to_30_min() -> None:
    assert [alert_retry(n) for n in (0, 1, 2, 3)] == [
        timedelta(seconds=30),
        timedelta(seconds=30),
        timedelta(seconds=60),
        timedelta(seconds=120),
    ]
    assert alert_retry(7) == timedelta(minutes=30) == alert_retry(10)


def test_a_long_outage_never_overflows_the_wait() -> None:
    # 0.1 * 2**1024 raises OverflowError: the bus's supervisor used to compute exactly
    # that after 1,024 failed reconnects (about 85 minutes at 5 s) and die with it
    backoff = Backoff(0.1, 5.0, jitter=(0.8, 1.2))
    backoff.failures = 5_000
    assert 4.0 <= backoff.failed() <= 6.0
    assert Backoff(0.5).delay(10_000) > 1e18


async def test_a_wait_ends_early_when_the_loop_is_told_to_stop() -> None:
    stop = asyncio.Event()
    stop.set()
    began = time.monotonic()
    assert await Backoff(30.0).wait(stop) == 30.0
    await pause(30.0, stop)
    assert time.monotonic() - began < 5


async def test_the_command_listener_starts_from_the_first_wait_once_connected_again(
    db_url: str,
) -> None:
    """Before, its wait was reset only when it was stopped: after one bad minute, every
    later drop waited 10 s however long the connection had been fine."""
    listener = CommandListener(db_url, lambda _process: None)
    listener.backoff.failures = 5  # an earlier outage
    stop = asyncio.Event()
    task = asyncio.create_task(listener.run(stop))
    try:
        await asyncio.wait_for(listener.connected.wait(), 10)
        assert listener.backoff.failures == 0
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
