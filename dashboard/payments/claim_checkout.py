"""How an owner pays for a claimed site: a Stripe Checkout Session, or the demo's test
checkout, which ends in the same signed webhook a real payment sends.

The webhook (`/api/stripe-webhook` -> `payments.checkout.apply_checkout`) stays the one
place where a payment takes effect: nothing here marks a business claimed.

- `create_checkout_session`: with STRIPE_API_KEY, through the `stripe` library's
  `StripeClient` at STRIPE_API_BASE (its `api_base`): one line item (CLAIM_PRICE_ID, or
  CLAIM_PRICE_CENTS in CLAIM_CURRENCY named CLAIM_PRODUCT_NAME), `client_reference_id`
  = the business uuid, the owner's email prefilled when known, success and cancel pages
  on the sites origin. The idempotency key is the uuid and the hour, so a double click
  or a reload gets the same session instead of a second one.
- `test_checkout_event`: without a key, a `checkout.session.completed` event in
  Stripe's shape, signed with STRIPE_WEBHOOK_SECRET exactly as Stripe signs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe

from dashboard.data.models import QualifiedBusiness
from dashboard.payments.simulate import checkout_completed, signed
from dashboard.settings import Settings


class CheckoutUnavailable(RuntimeError):
    """Stripe refused or could not be reached; the message is safe to show the owner."""


@dataclass(frozen=True)
class ClaimLinks:
    success: str
    cancel: str


def claim_links(settings: Settings, uuid: str) -> ClaimLinks:
    base = f"{settings.sites_url}/claim/{uuid}"
    return ClaimLinks(f"{base}/thanks?session_id={{CHECKOUT_SESSION_ID}}", f"{base}/cancelled")


def line_item(settings: Settings) -> dict[str, Any]:
    if settings.claim_price_id:
        return {"price": settings.claim_price_id, "quantity": 1}
    return {
        "price_data": {
            "currency": settings.claim_currency,
            "unit_amount": settings.claim_price_cents,
            "product_data": {"name": settings.claim_product_name},
        },
        "quantity": 1,
    }


def session_params(settings: Settings, business: QualifiedBusiness) -> dict[str, Any]:
    links = claim_links(settings, business.uuid)
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [line_item(settings)],
        "client_reference_id": business.uuid,
        "success_url": links.success,
        "cancel_url": links.cancel,
        "metadata": {"cs_uuid": business.uuid, "business_name": business.name[:200]},
    }
    if business.email:
        params["customer_email"] = business.email
    return params


async def create_checkout_session(settings: Settings, business: QualifiedBusiness) -> str:
    """The Checkout Session's URL to redirect the owner to."""
    client = stripe.StripeClient(
        settings.stripe_api_key,
        base_addresses={"api": settings.stripe_api_base},
        http_client=stripe.HTTPXClient(),
        max_network_retries=1,
    )
    hour = datetime.now(UTC).strftime("%Y%m%d%H")
    try:
        session = await client.v1.checkout.sessions.create_async(
            params=session_params(settings, business),  # type: ignore[arg-type]
            options={"idempotency_key": f"claim-{business.uuid}-{hour}"},
        )
    except stripe.StripeError as exc:
        message = exc.user_message or type(exc).__name__
        raise CheckoutUnavailable(f"Stripe could not start the payment ({message}).") from exc
    url = getattr(session, "url", None)
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise CheckoutUnavailable("Stripe answered without a payment page address.")
    return url


def test_checkout_event(
    settings: Settings, business: QualifiedBusiness, email: str
) -> tuple[str, str]:
    """A signed `checkout.session.completed` for the demo: (body, Stripe-Signature)."""
    event = checkout_completed(business.uuid, email=email, amount=settings.claim_price_cents)
    event["data"]["object"]["currency"] = settings.claim_currency
    event["data"]["object"]["id"] = event["data"]["object"]["id"].replace("sim", "local")
    return signed(event, settings.stripe_webhook_secret)
