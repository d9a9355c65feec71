"""`/claim/<uuid>`: Stripe Checkout through a local server standing in for Stripe's API
(STRIPE_API_BASE), the pages for claimed, unknown and suspended sites and for a Stripe
error, and the demo's test checkout, which pays through our own signed webhook."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from dashboard.outreach import SERVICE_KEY
from dashboard.runtime import Runtime, close_runtime, open_runtime
from dashboard.settings import load_settings
from tests.local_http import Answer, LocalAPI, Seen, local_api
from tests.routes_support import WHSEC, FakeProvider, Money, app

SESSION = {
    "id": "cs_test_a1b2",
    "object": "checkout.session",
    "url": "https://checkout.stripe.com/c/pay/cs_test_a1b2",
    "mode": "payment",
    "status": "open",
}


@dataclass
class Claim:
    money: Money
    stripe: LocalAPI


@pytest.fixture
def stripe_api() -> Iterator[LocalAPI]:
    with local_api(lambda _: Answer(200, SESSION)) as api:
        yield api


async def open_claim(app_db_url: str, tmp_path: Path, **settings: Any) -> Runtime:
    runtime = await open_runtime(
        load_settings(database_url=app_db_url, data_dir=tmp_path, secret_key="k" * 40,
                      stripe_webhook_secret=WHSEC, sites_base_url="http://sites.test",
                      claim_price_cents=29900, claim_currency="eur", **settings),
        run_migrations=False,
    )  # fmt: skip
    runtime.services[SERVICE_KEY] = FakeProvider()
    return runtime


@pytest.fixture
async def claim(app_db_url: str, tmp_path: Path, stripe_api: LocalAPI) -> AsyncIterator[Claim]:
    runtime = await open_claim(
        app_db_url, tmp_path, stripe_api_key="sk_test_local", stripe_api_base=stripe_api.base
    )
    transport = httpx.ASGITransport(app=app())
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://sites.test") as client:
            yield Claim(Money(client, runtime, runtime.services[SERVICE_KEY]), stripe_api)
    finally:
        await close_runtime()


@pytest.fixture
async def demo(app_db_url: str, tmp_path: Path) -> AsyncIterator[Money]:
    runtime = await open_claim(app_db_url, tmp_path, claim_test_checkout=True)
    transport = httpx.ASGITransport(app=app())
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://sites.test") as client:
            yield Money(client, runtime, runtime.services[SERVICE_KEY])
    finally:
        await close_runtime()


async def test_the_claim_page_offers_the_price_and_a_button(claim: Claim) -> None:
    [uuid] = await claim.money.businesses(1)
    page = await claim.money.client.get(f"/claim/{uuid}")
    assert page.status_code == 200
    assert "Claim the site of Biz 0" in page.text and "299.00 EUR" in page.text
    assert f'action="/claim/{uuid}/checkout"' in page.text
    assert "script" not in page.headers["content-security-policy"]
    css = await claim.money.client.get("/claim/static/claim.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


async def test_checkout_creates_a_session_with_the_uuid_and_price_and_redirects(
    claim: Claim,
) -> None:
    [uuid] = await claim.money.businesses(1)
    answer = await claim.money.client.post(f"/claim/{uuid}/checkout")
    assert answer.status_code == 303
    assert answer.headers["location"] == SESSION["url"]
    [call] = claim.stripe.seen
    assert (call.method, call.path) == ("POST", "/v1/checkout/sessions")
    assert call.headers["authorization"] == "Bearer sk_test_local"
    assert call.headers["idempotency-key"].startswith(f"claim-{uuid}-")
    form = {k: v[0] for k, v in call.form().items()}
    assert form["client_reference_id"] == uuid
    assert form["mode"] == "payment"
    assert form["line_items[0][price_data][unit_amount]"] == "29900"
    assert form["line_items[0][price_data][currency]"] == "eur"
    assert form["line_items[0][price_data][product_data][name]"] == "Your CliftonSites website"
    assert form["customer_email"] == "owner0@example.com"  # prefilled: the owner is known
    assert form["success_url"] == (
        f"http://sites.test/claim/{uuid}/thanks?session_id={{CHECKOUT_SESSION_ID}}"
    )
    assert form["cancel_url"] == f"http://sites.test/claim/{uuid}/cancelled"
    claimed = await claim.money.value("select claimed from public.qualified_businesses")
    assert claimed is False  # only the webhook claims


async def test_a_stripe_error_is_a_clear_page_and_nothing_is_claimed(claim: Claim) -> None:
    [uuid] = await claim.money.businesses(1)

    def refuse(_: Seen) -> Answer:
        error = {"type": "invalid_request_error", "message": "No such price: 'price_gone'"}
        return Answer(400, {"error": error})

    claim.stripe.answer = refuse
    answer = await claim.money.client.post(f"/claim/{uuid}/checkout")
    assert answer.status_code == 502
    assert "The payment could not start" in answer.text and "Nothing was charged" in answer.text
    assert "Traceback" not in answer.text
    claim.stripe.answer = lambda _: Answer(500, {"error": {"type": "api_error"}})
    assert (await claim.money.client.post(f"/claim/{uuid}/checkout")).status_code == 502


async def test_a_claimed_site_says_already_claimed_and_never_calls_stripe(claim: Claim) -> None:
    [uuid] = await claim.money.businesses(1)
    await claim.money.sql("update public.qualified_businesses set claimed = true,"
                          " claimed_at = now(), stripe_payment_id = 'pi_1'")  # fmt: skip
    for answer in (
        await claim.money.client.get(f"/claim/{uuid}"),
        await claim.money.client.post(f"/claim/{uuid}/checkout"),
    ):
        assert answer.status_code == 200 and "already claimed" in answer.text
        assert "Continue to payment" not in answer.text
    assert claim.stripe.seen == []


async def test_unknown_and_suspended_sites_get_their_own_pages(claim: Claim) -> None:
    [uuid] = await claim.money.businesses(1)
    for bad in ("zzzz9999", "NOT-A-ID", "abc"):
        answer = await claim.money.client.get(f"/claim/{bad}")
        assert answer.status_code == 404 and "No site at this address" in answer.text
    await claim.money.sql("update public.qualified_businesses set site_status = 'suspended'")
    answer = await claim.money.client.post(f"/claim/{uuid}/checkout")
    assert answer.status_code == 410 and "no longer available" in answer.text
    assert claim.stripe.seen == []


async def test_the_test_checkout_is_off_when_a_stripe_key_is_set(claim: Claim) -> None:
    [uuid] = await claim.money.businesses(1)
    assert (await claim.money.client.get(f"/claim/{uuid}/test-checkout")).status_code == 404
    pay = await claim.money.client.post(f"/claim/{uuid}/test-checkout", data={"email": "a@b.com"})
    assert pay.status_code == 404
    assert await claim.money.value("select claimed from public.qualified_businesses") is False


async def test_the_demo_test_checkout_pays_through_the_signed_webhook(demo: Money) -> None:
    [uuid] = await demo.businesses(1, outreach="started")
    start = await demo.client.post(f"/claim/{uuid}/checkout")
    assert start.status_code == 303 and start.headers["location"] == f"/claim/{uuid}/test-checkout"
    form = await demo.client.get(f"/claim/{uuid}/test-checkout")
    assert 'value="owner0@example.com"' in form.text and "no money moves" in form.text
    paid = await demo.client.post(f"/claim/{uuid}/test-checkout", data={"email": "maria@biz.com"})
    assert paid.status_code == 303 and paid.headers["location"] == f"/claim/{uuid}/thanks"
    row = (await demo.sql("select claimed, customer_email, site_status, outreach_status,"
                          " stripe_payment_id from public.qualified_businesses"))[0]  # fmt: skip
    assert row["claimed"] and row["customer_email"] == "maria@biz.com"
    assert row["site_status"] == "active" and row["outreach_status"] == "stopped"
    assert row["stripe_payment_id"].startswith("pi_sim_")
    events = await demo.sql("select type, status from public.stripe_events")
    assert events == [{"type": "checkout.session.completed", "status": "processed"}]
    thanks = await demo.client.get(f"/claim/{uuid}/thanks")
    assert "the site is yours" in thanks.text
    again = await demo.client.post(f"/claim/{uuid}/test-checkout", data={"email": "x@biz.com"})
    assert "already claimed" in again.text  # never a second payment
    assert await demo.value("select count(*) from public.stripe_events") == 1


async def test_a_bad_email_at_the_test_checkout_pays_nothing(demo: Money) -> None:
    [uuid] = await demo.businesses(1)
    answer = await demo.client.post(f"/claim/{uuid}/test-checkout", data={"email": "maria@biz"})
    assert answer.status_code == 400 and "Check your email" in answer.text
    assert await demo.value("select count(*) from public.stripe_events") == 0


async def test_without_a_key_or_the_test_checkout_the_page_says_payment_is_not_set_up(
    app_db_url: str, tmp_path: Path
) -> None:
    runtime = await open_claim(app_db_url, tmp_path)
    try:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app()), base_url="http://sites.test"
        )
        money = Money(client, runtime, FakeProvider())
        [uuid] = await money.businesses(1)
        answer = await money.client.post(f"/claim/{uuid}/checkout")
        assert answer.status_code == 503 and "not set up yet" in answer.text
        assert (await money.client.get(f"/claim/{uuid}/test-checkout")).status_code == 404
        await money.client.aclose()
    finally:
        await close_runtime()
