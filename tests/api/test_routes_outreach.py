"""The outreach and internal routes: Bearer and webhook secrets, bodies, idempotence."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json

from tests.routes_support import (
    INTERNAL,
    SMARTLEAD_SECRET,
    TRIGGER,
    Money,
)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_start_campaign_needs_the_trigger_token(money: Money) -> None:
    await money.businesses(1)
    for headers in ({}, bearer("wrong"), bearer(INTERNAL), {"Authorization": TRIGGER}):
        response = await money.client.post(
            "/api/outreach/start-campaign", json={"uuid": "b0000000"}, headers=headers
        )
        assert response.status_code == 401, headers
    assert money.provider.added == []


async def test_start_campaign_starts_once_however_often_it_is_called(money: Money) -> None:
    await money.businesses(1)
    responses = await asyncio.gather(*(
        money.client.post("/api/outreach/start-campaign", json={"uuid": "b0000000"},
                          headers=bearer(TRIGGER))
        for _ in range(10)
    ))  # fmt: skip
    outcomes = sorted(r.json()["outcome"] for r in responses)
    assert outcomes == ["already"] * 9 + ["started"]
    assert money.provider.added == ["b0000000"]


async def test_start_campaign_takes_the_payload_the_trigger_sends(money: Money) -> None:
    await money.businesses(1)
    business_id = await money.value("select id from qualified_businesses")
    response = await money.client.post(
        "/api/outreach/start-campaign",
        json={"qualified_business_id": business_id, "uuid": "b0000000"},
        headers=bearer(TRIGGER),
    )
    assert response.status_code == 200 and response.json()["outcome"] == "started"


async def test_start_campaign_explains_a_malformed_body(money: Money) -> None:
    for body in (
        b"",
        b"{",
        b"[]",
        b'{"uuid": "NOT-A-UUID"}',
        b"{}",
        b'{"qualified_business_id": 0}',
    ):
        response = await money.client.post(
            "/api/outreach/start-campaign", content=body, headers=bearer(TRIGGER)
        )
        assert response.status_code == 400, body
        assert (
            "uuid" in response.json()["error"]
            or "qualified_business_id" in response.json()["error"]
        )


async def test_start_campaign_answers_404_for_an_unknown_business(money: Money) -> None:
    response = await money.client.post(
        "/api/outreach/start-campaign", json={"uuid": "zzzzzzzz"}, headers=bearer(TRIGGER)
    )
    assert response.status_code == 404


def smartlead_event(event_type: str, **extra: object) -> dict[str, object]:
    return {"event_type": event_type, "campaign_id": 9001, "sl_email_lead_id": "lead-b0000000",
            "sl_lead_email": "owner0@example.com", "event_timestamp": "2026-11-25T10:00:00Z",
            "secret_key": SMARTLEAD_SECRET, **extra}  # fmt: skip


async def _started(money: Money) -> None:
    await money.businesses(1, outreach="started")
    await money.sql("update qualified_businesses set outreach_lead_id = 'lead-' || uuid")


async def test_a_reply_is_recorded_once_and_moves_the_business_to_replied(money: Money) -> None:
    await _started(money)
    event = smartlead_event("EMAIL_REPLY", stats_id="s-1")
    first, second = [
        await money.client.post("/api/outreach/webhook-events", json=event) for _ in "12"
    ]
    assert first.json()["status"] == "recorded" and second.json()["status"] == "duplicate"
    assert await money.value("select count(*) from outreach_events") == 1
    assert await money.value("select outreach_status from qualified_businesses") == "replied"


async def test_concurrent_duplicates_store_one_event(money: Money) -> None:
    await _started(money)
    event = smartlead_event("EMAIL_OPEN", stats_id="s-2")
    responses = await asyncio.gather(
        *(money.client.post("/api/outreach/webhook-events", json=event) for _ in range(20))
    )
    assert sorted(r.json()["status"] for r in responses) == ["duplicate"] * 19 + ["recorded"]
    assert await money.value("select count(*) from outreach_events") == 1


async def test_a_late_sent_event_does_not_undo_a_reply(money: Money) -> None:
    await _started(money)
    for kind in ("EMAIL_REPLY", "EMAIL_SENT", "FIRST_EMAIL_SENT", "EMAIL_LINK_CLICK"):
        response = await money.client.post(
            "/api/outreach/webhook-events", json=smartlead_event(kind)
        )
        assert response.status_code == 200
    assert await money.value("select outreach_status from qualified_businesses") == "replied"
    assert await money.value("select count(*) from outreach_events") == 4


async def test_an_unknown_event_type_is_stored_and_ignored(money: Money) -> None:
    await _started(money)
    response = await money.client.post(
        "/api/outreach/webhook-events", json=smartlead_event("LEAD_TELEPORTED")
    )
    assert response.status_code == 200 and response.json()["known_type"] is False
    assert await money.value("select event_type from outreach_events") == "LEAD_TELEPORTED"
    assert await money.value("select outreach_status from qualified_businesses") == "started"


async def test_events_map_to_the_business_by_custom_field_lead_id_or_email(money: Money) -> None:
    await money.businesses(3, outreach="started")
    await money.sql("update qualified_businesses set outreach_lead_id = '77', "
                    "outreach_campaign_id = '9001' where uuid = 'b0000001'")  # fmt: skip
    events = [
        {"event_type": "EMAIL_OPEN", "lead_data": {"custom_fields": {"cs_uuid": "b0000000"}}},
        {"event_type": "EMAIL_OPEN", "sl_email_lead_id": 77},
        {"event_type": "EMAIL_OPEN", "to_email": "OWNER2@example.com"},
    ]
    for event in events:
        response = await money.client.post(
            "/api/outreach/webhook-events", json=event | {"secret_key": SMARTLEAD_SECRET}
        )
        assert response.json()["qualified_business_id"] is not None
    mapped = await money.sql("select q.uuid from outreach_events e join qualified_businesses q"
                             " on q.id = e.qualified_business_id order by e.id")  # fmt: skip
    assert [m["uuid"] for m in mapped] == ["b0000000", "b0000001", "b0000002"]


async def test_webhooks_accept_an_hmac_header_instead_of_the_body_secret(money: Money) -> None:
    await _started(money)
    body = json.dumps({"event_type": "EMAIL_BOUNCE", "sl_email_lead_id": "lead-b0000000"}).encode()
    signature = hmac.new(SMARTLEAD_SECRET.encode(), body, hashlib.sha256).hexdigest()
    response = await money.client.post(
        "/api/outreach/webhook-events", content=body,
        headers={"X-Smartlead-Signature": f"sha256={signature}"},
    )  # fmt: skip
    assert response.status_code == 200
    assert await money.value("select outreach_status from qualified_businesses") == "bounced"


async def test_webhooks_without_the_secret_are_refused_and_store_nothing(money: Money) -> None:
    wrong = smartlead_event("EMAIL_REPLY") | {"secret_key": "guess"}
    bad_hmac = {"content": b"{}", "headers": {"X-Smartlead-Signature": "00" * 32}}
    for kwargs in ({"json": wrong}, {"content": b"not json"}, bad_hmac):
        response = await money.client.post("/api/outreach/webhook-events", **kwargs)  # type: ignore[arg-type]
        assert response.status_code == 401
    assert await money.value("select count(*) from outreach_events") == 0


async def test_a_signed_body_without_event_type_is_a_400(money: Money) -> None:
    response = await money.client.post(
        "/api/outreach/webhook-events", json={"secret_key": SMARTLEAD_SECRET}
    )
    assert response.status_code == 400 and "event_type" in response.json()["error"]


async def test_internal_routes_activate_and_stop_once(money: Money) -> None:
    await _started(money)
    for _ in range(2):
        activate = await money.client.post(
            "/api/internal/activate-site", json={"uuid": "b0000000"}, headers=bearer(INTERNAL)
        )
        stop = await money.client.post(
            "/api/internal/stop-campaign", json={"uuid": "b0000000"}, headers=bearer(INTERNAL)
        )
        assert activate.status_code == 200 and stop.status_code == 200
    assert money.provider.stopped == ["lead-b0000000"]
    row = (await money.sql("select site_status, outreach_status from qualified_businesses"))[0]
    assert row == {"site_status": "active", "outreach_status": "stopped"}


async def test_internal_routes_refuse_other_tokens(money: Money) -> None:
    await money.businesses(1)
    for path in ("/api/internal/activate-site", "/api/internal/stop-campaign"):
        response = await money.client.post(path, json={"uuid": "b0000000"}, headers=bearer(TRIGGER))
        assert response.status_code == 401
    assert await money.value("select site_status from qualified_businesses") == "deployed"
