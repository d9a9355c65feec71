"""No business left behind: the sweeper, the NOTIFY listener and the atomic start gate."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

from dashboard.outreach.background import run_listener, sweep_once
from dashboard.outreach.campaign import start_campaign
from tests.routes_support import Money


async def test_500_deployments_with_dropped_notifications_are_each_started_once(
    money: Money,
) -> None:
    await money.businesses(500, age_minutes=0)  # nobody listens: every NOTIFY is dropped
    api, provider = money.runtime.api, money.provider
    later = datetime.now(UTC) + timedelta(minutes=2)
    for _ in range(3):  # three sweepers racing, as on three app instances
        await asyncio.gather(*(sweep_once(api, provider, now=later) for _ in range(3)))
    assert len(provider.added) == 500
    assert Counter(provider.added).most_common(1)[0][1] == 1
    assert (
        await money.value(
            "select count(*) from qualified_businesses where outreach_status = 'started'"
        )
        == 500
    )
    assert await sweep_once(api, provider, now=later) == []


async def test_the_sweeper_waits_for_the_sweep_window(money: Money) -> None:
    await money.businesses(3, age_minutes=0)
    assert await sweep_once(money.runtime.api, money.provider) == []
    assert money.provider.added == []


async def test_the_sweeper_does_nothing_while_outreach_is_disabled(money: Money) -> None:
    await money.businesses(3)
    await money.sql("update automation_config set outreach_enabled = false")
    assert await sweep_once(money.runtime.api, money.provider) == []


async def test_trigger_and_sweeper_racing_start_each_business_once(money: Money) -> None:
    await money.businesses(50)
    ids = [r["id"] for r in await money.sql("select id from qualified_businesses")]
    api, provider = money.runtime.api, money.provider
    results = await asyncio.gather(
        sweep_once(api, provider),
        *(start_campaign(api, provider, i, source="trigger") for i in ids),
    )
    assert sorted(provider.added) == sorted(set(provider.added)) and len(provider.added) == 50
    outcomes = Counter(r.outcome for r in results[1:])
    assert outcomes["started"] + outcomes["already"] == 50


async def test_the_listener_starts_a_business_when_the_trigger_notifies(money: Money) -> None:
    runtime = money.runtime
    listener = asyncio.create_task(
        run_listener(runtime.database_url, runtime.api, lambda: money.provider)
    )
    try:
        for _ in range(50):  # wait until LISTEN is in place
            if await money.value(
                "select count(*) from pg_stat_activity where query ilike 'listen outreach_start%%'"
            ):
                break
            await asyncio.sleep(0.05)
        [uuid] = await money.businesses(1, age_minutes=0)  # the insert fires the trigger
        for _ in range(100):
            if money.provider.added:
                break
            await asyncio.sleep(0.05)
        assert money.provider.added == [uuid]
        assert await money.value("select outreach_status from qualified_businesses") == "started"
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)


async def test_a_business_without_email_is_skipped_not_retried(money: Money) -> None:
    await money.businesses(1, email=False)
    [result] = await sweep_once(money.runtime.api, money.provider)
    assert result.outcome == "skipped" and money.provider.added == []
    assert await money.value("select outreach_status from qualified_businesses") == "skipped"
    assert (
        await money.value(
            "select count(*) from automation_logs where message like 'outreach skipped%%no email'"
        )
        == 1
    )
    assert await sweep_once(money.runtime.api, money.provider) == []


async def test_the_outbox_records_the_email_it_would_send(money: Money) -> None:
    from dashboard.outreach.outbox import OutboxProvider

    outbox = OutboxProvider(money.runtime.settings.data_dir / "outbox")
    [uuid] = await money.businesses(1)
    [result] = await sweep_once(money.runtime.api, outbox)
    assert result.outcome == "started"
    log = (await money.sql("select metadata from automation_logs where process = 'outreach'"))[0]
    assert log["metadata"]["to"] == "owner0@example.com"
    assert "http://127.0.0.1/sites/x" in log["metadata"]["body"]
    # the message carries the site and its claim page, as the Smartlead lead's custom fields
    assert log["metadata"]["site_url"] == "http://127.0.0.1/sites/x"
    assert log["metadata"]["claim_url"] == f"http://127.0.0.1/claim/{uuid}"
    assert f"claim it here: http://127.0.0.1/claim/{uuid}" in log["metadata"]["body"]
    text = (money.runtime.settings.data_dir / "outbox" / f"{uuid}.txt").read_text()
    assert f"X-Claim-URL: http://127.0.0.1/claim/{uuid}" in text
