"""Stripe-Signature: only correctly signed, recent events are stored and processed."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from tests.routes_support import WHSEC, Money, checkout_event


async def test_a_valid_signature_is_accepted_and_claims_the_business(money: Money) -> None:
    [uuid] = await money.businesses(1)
    response = await money.post_stripe(checkout_event(uuid))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "processed"
    assert await money.value("select claimed from qualified_businesses") is True
    assert await money.value("select status from stripe_events") == "processed"


async def _nothing_processed(money: Money) -> None:
    assert await money.value("select count(*) from stripe_events") == 0
    assert await money.value("select count(*) from qualified_businesses where claimed") == 0


async def test_it_rejects_one_changed_body_byte(money: Money) -> None:
    [uuid] = await money.businesses(1)
    payload = json.dumps(checkout_event(uuid))
    t = int(time.time())
    sig = hmac.new(WHSEC.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    tampered = payload.replace('"paid"', '"paiD"')
    assert len(tampered) == len(payload) and tampered != payload
    response = await money.client.post(
        "/api/stripe-webhook", content=tampered, headers={"Stripe-Signature": f"t={t},v1={sig}"}
    )
    assert response.status_code == 400
    assert "Stripe-Signature" in response.json()["error"]
    await _nothing_processed(money)


async def test_it_rejects_old_timestamp(money: Money) -> None:
    [uuid] = await money.businesses(1)
    response = await money.post_stripe(checkout_event(uuid), timestamp=int(time.time()) - 301)
    assert response.status_code == 400
    assert "tolerance" in response.json()["error"]
    await _nothing_processed(money)


async def test_it_rejects_the_wrong_secret(money: Money) -> None:
    [uuid] = await money.businesses(1)
    response = await money.post_stripe(checkout_event(uuid), secret="whsec_someone_else")
    assert response.status_code == 400
    await _nothing_processed(money)


async def test_it_rejects_a_missing_header(money: Money) -> None:
    [uuid] = await money.businesses(1)
    response = await money.client.post(
        "/api/stripe-webhook", content=json.dumps(checkout_event(uuid))
    )
    assert response.status_code == 400
    await _nothing_processed(money)


async def test_a_header_with_one_bad_and_one_good_signature_is_accepted(money: Money) -> None:
    [uuid] = await money.businesses(1)
    payload = json.dumps(checkout_event(uuid))
    t = int(time.time())
    good = hmac.new(WHSEC.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    header = f"t={t},v1={'0' * 64},v1={good}"
    response = await money.client.post(
        "/api/stripe-webhook", content=payload, headers={"Stripe-Signature": header}
    )
    assert response.status_code == 200, response.text
    assert await money.value("select claimed from qualified_businesses") is True


async def test_a_signed_body_that_is_not_an_event_is_rejected(money: Money) -> None:
    response = await money.post_stripe({"hello": "world"})
    assert response.status_code == 400
    assert "id" in response.json()["error"]
    assert await money.value("select count(*) from stripe_events") == 0
