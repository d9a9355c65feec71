"""Payments and outreach: events stored once, idempotent claims, out-of-order outreach events,
and the atomic start of a campaign."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from dashboard.backends.base import BackendError
from dashboard.backends.postgres import PostgresBackend
from dashboard.data import outreach, payments, queue


async def deployed_site(backend: PostgresBackend) -> tuple[int, str]:
    async with backend.owner() as conn:
        await conn.execute(
            "insert into public.pipeline_businesses (place_id, name, category, city, region)"
            " values ('pay-' || gen_random_uuid(), 'Paying Ltd', 'baker', 'Bath', 'England')"
        )
    claim = await queue.claim_next_business(backend, "w")
    assert claim is not None and claim.claim_token is not None
    site = await queue.mark_business_deployed(backend, claim.id, "s/{uuid}", claim.claim_token)
    return site.id, site.uuid


async def test_a_stripe_event_is_stored_once_and_deliveries_are_counted(
    backend: PostgresBackend,
) -> None:
    first = await payments.record_stripe_event(
        backend, "evt_1", "checkout.session.completed", {"id": "evt_1"}, datetime.now(UTC)
    )
    again = await payments.record_stripe_event(backend, "evt_1", "x", {"id": "changed"})
    assert (first.is_new, first.status, first.attempts) == (True, "received", 1)
    assert (again.is_new, again.attempts) == (False, 2)
    async with backend.owner() as conn:
        cur = await conn.execute("select type, payload from public.stripe_events")
        assert await cur.fetchall() == [
            {"type": "checkout.session.completed", "payload": {"id": "evt_1"}}
        ]


async def test_simultaneous_deliveries_make_one_new_event(backend: PostgresBackend) -> None:
    results = await asyncio.gather(
        *(payments.record_stripe_event(backend, "evt_race", "t", {}) for _ in range(8))
    )
    assert sorted(r.is_new for r in results) == [False] * 7 + [True]
    assert sorted(r.attempts for r in results) == list(range(1, 9))


async def test_a_payment_claims_the_business_once(backend: PostgresBackend) -> None:
    site_id, uuid = await deployed_site(backend)
    await payments.record_stripe_event(backend, "evt_pay", "checkout.session.completed", {})
    claimed = await payments.mark_business_claimed(
        backend, uuid, "pi_1", "owner@bakery.example", "cus_1", "evt_pay"
    )
    assert claimed.claimed and claimed.claimed_at is not None
    assert (claimed.stripe_payment_id, claimed.customer_email) == ("pi_1", "owner@bakery.example")
    repeat = await payments.mark_business_claimed(backend, uuid, "pi_1", "other@x.io")
    assert repeat.model_dump() == claimed.model_dump()
    async with backend.owner() as conn:
        cur = await conn.execute("select key, event_id from public.stripe_idempotency")
        assert await cur.fetchall() == [{"key": f"claim:{uuid}", "event_id": "evt_pay"}]
        cur = await conn.execute("select qualified_business_id from public.stripe_events")
        assert await cur.fetchall() == [{"qualified_business_id": site_id}]
    with pytest.raises(BackendError) as err:
        await payments.mark_business_claimed(backend, uuid, "pi_2")
    assert err.value.code == "55000"


async def test_outreach_events_are_stored_once_and_move_status_forward_only(
    backend: PostgresBackend,
) -> None:
    site_id, _ = await deployed_site(backend)
    now = datetime.now(UTC)
    reply = await outreach.record_outreach_event(
        backend, "smartlead", "ev-2", "EMAIL_REPLY", {"text": "yes"}, site_id, now
    )
    late_sent = await outreach.record_outreach_event(
        backend, "smartlead", "ev-1", "EMAIL_SENT", {}, site_id, now - timedelta(hours=1)
    )
    again = await outreach.record_outreach_event(
        backend, "smartlead", "ev-2", "EMAIL_REPLY", {}, site_id
    )
    assert reply.is_new and late_sent.is_new and not again.is_new
    assert again.event_id == reply.event_id
    async with backend.owner() as conn:
        cur = await conn.execute(
            "select outreach_status, outreach_last_event_at from public.qualified_businesses"
        )
        row = await cur.fetchone()
    assert row == {"outreach_status": "replied", "outreach_last_event_at": now}
    await outreach.record_outreach_event(backend, "smartlead", "ev-3", "LEAD_UNSUBSCRIBED", {},
                                         site_id)  # fmt: skip
    await outreach.record_outreach_event(backend, "smartlead", "ev-4", "EMAIL_BOUNCE", {}, site_id)
    async with backend.owner() as conn:
        cur = await conn.execute("select outreach_status from public.qualified_businesses")
        assert await cur.fetchone() == {"outreach_status": "unsubscribed"}


async def test_unknown_event_types_and_businesses_are_stored_only(
    backend: PostgresBackend,
) -> None:
    site_id, _ = await deployed_site(backend)
    weird = await outreach.record_outreach_event(
        backend, "smartlead", "ev-x", "CAMPAIGN_PAUSED", {}, site_id
    )
    orphan = await outreach.record_outreach_event(
        backend, "smartlead", "ev-y", "EMAIL_REPLY", {}, 999_999
    )
    assert weird.is_new and orphan.is_new
    async with backend.owner() as conn:
        cur = await conn.execute(
            "select qualified_business_id from public.outreach_events order by id"
        )
        assert await cur.fetchall() == [
            {"qualified_business_id": site_id}, {"qualified_business_id": None},
        ]  # fmt: skip
        cur = await conn.execute("select outreach_status from public.qualified_businesses")
        assert await cur.fetchone() == {"outreach_status": "pending"}


async def test_a_campaign_starts_once_even_when_asked_twice_at_once(
    backend: PostgresBackend,
) -> None:
    site_id, _ = await deployed_site(backend)
    results = await asyncio.gather(
        *(outreach.set_outreach_status(backend, site_id, "starting") for _ in range(4)),
        return_exceptions=True,
    )
    errors = [r for r in results if isinstance(r, BackendError)]
    assert len(errors) == 3 and {e.code for e in errors} == {"55000"}


async def test_campaign_steps_record_start_failure_and_retry(backend: PostgresBackend) -> None:
    site_id, _ = await deployed_site(backend)
    failed = await outreach.set_outreach_status(backend, site_id, "failed", error="smartlead 503")
    assert failed.outreach_error == "smartlead 503" and failed.outreach_attempts == 1
    await outreach.set_outreach_status(backend, site_id, "starting")
    started = await outreach.set_outreach_status(backend, site_id, "started", "camp-9", "lead-3")
    assert started.outreach_started_at is not None and started.outreach_error is None
    assert (started.outreach_campaign_id, started.outreach_lead_id) == ("camp-9", "lead-3")
    stopped = await outreach.set_outreach_status(backend, site_id, "stopped")
    assert stopped.outreach_status == "stopped" and stopped.outreach_campaign_id == "camp-9"
