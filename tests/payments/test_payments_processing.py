"""Stripe events are processed exactly once, in any order, and retries finish crashes."""

from __future__ import annotations

import asyncio

from tests.routes_support import Money, charge_event, checkout_event


async def _count_logs(money: Money, like: str) -> int:
    return int(
        await money.value("select count(*) from automation_logs where message like %s", (like,))
    )


async def test_ten_concurrent_copies_of_100_events_claim_activate_and_stop_once_each(
    money: Money,
) -> None:
    uuids = await money.businesses(100, outreach="started")
    await money.sql("update qualified_businesses set outreach_lead_id = 'lead-' || uuid")
    events = [checkout_event(u) for u in uuids]
    responses = await asyncio.gather(*(money.post_stripe(e) for e in events for _ in range(10)))
    assert {r.status_code for r in responses} == {200}
    statuses = [r.json()["status"] for r in responses]
    assert statuses.count("processed") == 100 and statuses.count("duplicate") == 900
    assert await money.value("select count(*) from qualified_businesses where claimed") == 100
    assert await _count_logs(money, "business % claimed by payment %") == 100
    assert await _count_logs(money, "site % activated (stripe)") == 100
    assert sorted(money.provider.stopped) == sorted(f"lead-{u}" for u in uuids)
    assert (
        await money.value(
            "select count(*) from qualified_businesses where site_status = 'active'"
            " and outreach_status = 'stopped'"
        )
        == 100
    )
    assert await money.value("select sum(attempts) from stripe_events") == 1000
    assert await money.value("select count(*) from stripe_events where status = 'processed'") == 100


async def test_a_crash_between_two_side_effects_is_finished_by_the_retry(money: Money) -> None:
    [uuid] = await money.businesses(1, outreach="started")
    money.provider.fail_stops = 1
    first = await money.post_stripe(checkout_event(uuid))
    assert first.status_code == 500
    row = (await money.sql("select status, error from stripe_events"))[0]
    assert row["status"] == "failed" and "injected" in row["error"]
    assert await money.value("select site_status from qualified_businesses") == "active"
    assert money.provider.stopped == []

    retry = await money.post_stripe(checkout_event(uuid))
    assert retry.status_code == 200 and retry.json()["status"] == "processed"
    assert len(money.provider.stopped) == 1
    assert await _count_logs(money, "business % claimed by payment %") == 1
    assert await _count_logs(money, "site % activated (stripe)") == 1
    keys = await money.sql("select key from stripe_idempotency order by key")
    assert [k["key"] for k in keys] == [f"activate:{uuid}", f"claim:{uuid}", f"stop:{uuid}"]
    again = await money.post_stripe(checkout_event(uuid))
    assert again.json()["status"] == "duplicate" and len(money.provider.stopped) == 1


async def test_a_refund_before_its_checkout_ends_claimed_and_flagged(money: Money) -> None:
    [uuid] = await money.businesses(1)
    refund = await money.post_stripe(
        charge_event("charge.refunded", f"pi_{uuid}", event_id="evt_r")
    )
    assert refund.status_code == 200 and refund.json()["status"] == "deferred"
    assert await money.value("select review_reason from qualified_businesses") is None

    checkout = await money.post_stripe(checkout_event(uuid))
    assert checkout.json()["status"] == "processed"
    row = (await money.sql("select claimed, site_status, review_reason from qualified_businesses"))[
        0
    ]
    assert row["claimed"] and row["site_status"] == "active"
    assert "refunded (full, 499.00 USD)" in row["review_reason"]
    assert await money.value("select status from stripe_events where id = 'evt_r'") == "processed"
    retry = await money.post_stripe(charge_event("charge.refunded", f"pi_{uuid}", event_id="evt_r"))
    assert retry.json()["status"] == "duplicate"
    assert (await money.value("select review_reason from qualified_businesses")).count(
        "refunded"
    ) == 1


async def test_a_dispute_and_its_checkout_racing_end_in_the_same_state(money: Money) -> None:
    uuids = await money.businesses(20)
    posts = []
    for u in uuids:
        posts += [
            money.post_stripe(
                charge_event("charge.dispute.created", f"pi_{u}", event_id=f"evt_d_{u}")
            ),
            money.post_stripe(checkout_event(u)),
        ]
    responses = await asyncio.gather(*posts)
    assert {r.status_code for r in responses} == {200}
    rows = await money.sql("select claimed, review_reason from qualified_businesses")
    assert all(r["claimed"] for r in rows)
    assert all(r["review_reason"] == "dispute opened (fraudulent, 499.00 USD)" for r in rows)
    assert await money.value("select count(*) from stripe_events where status <> 'processed'") == 0


async def test_a_second_payment_for_a_claimed_business_is_flagged_not_applied(money: Money) -> None:
    [uuid] = await money.businesses(1)
    await money.post_stripe(checkout_event(uuid))
    second = await money.post_stripe(checkout_event(uuid, event_id="evt_2", payment="pi_other"))
    assert second.status_code == 200 and second.json()["status"] == "failed"
    row = (await money.sql("select stripe_payment_id, review_reason from qualified_businesses"))[0]
    assert row["stripe_payment_id"] == f"pi_{uuid}"
    assert "paid twice" in row["review_reason"]
    assert await money.value("select status from stripe_events where id = 'evt_2'") == "failed"


async def test_an_unknown_uuid_fails_the_event_without_retries(money: Money) -> None:
    response = await money.post_stripe(checkout_event("zzzzzzzz"))
    assert response.status_code == 200 and response.json()["status"] == "failed"
    assert "no qualified business" in await money.value("select error from stripe_events")


async def test_a_checkout_for_something_else_is_ignored(money: Money) -> None:
    event = checkout_event("b0000000")
    event["data"]["object"]["client_reference_id"] = None
    response = await money.post_stripe(event)
    assert response.json()["status"] == "ignored"
    assert await money.value("select status from stripe_events") == "ignored"
