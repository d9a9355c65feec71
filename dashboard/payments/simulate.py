"""`cliftonsites stripe simulate`: a correctly signed test payment for the running app.

It signs a `checkout.session.completed` for one business exactly the way Stripe does
(`Stripe-Signature: t=<time>,v1=<HMAC-SHA256 of "<time>.<body>">`) with
STRIPE_WEBHOOK_SECRET from the environment or `DATA_DIR/secrets.env`, and posts it, so
a newcomer can watch the claim, the site activation and the stopped outreach arrive.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

import httpx
import stripe


class SimulateError(RuntimeError):
    """Something the user must fix first; the message says what."""


def webhook_secret(data_dir: Path, configured: str = "") -> str:
    """The configured secret (environment or .env), else the one the demo generated."""
    if configured or os.environ.get("STRIPE_WEBHOOK_SECRET"):
        return configured or os.environ["STRIPE_WEBHOOK_SECRET"]
    path = data_dir / "secrets.env"
    if path.exists():
        for line in path.read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "STRIPE_WEBHOOK_SECRET" and value.strip():
                return value.strip()
    raise SimulateError(
        f"STRIPE_WEBHOOK_SECRET is not set and not in {path}: export the app's secret"
        " (or run `cliftonsites demo` once, which generates it)"
    )


def checkout_completed(uuid: str, *, email: str, amount: int = 49900) -> dict[str, Any]:
    token = secrets.token_hex(6)
    return {
        "id": f"evt_sim_{token}",
        "object": "event",
        "type": "checkout.session.completed",
        "created": int(time.time()),
        "livemode": False,
        "data": {
            "object": {
                "id": f"cs_test_sim_{token}",
                "object": "checkout.session",
                "client_reference_id": uuid,
                "payment_intent": f"pi_sim_{token}",
                "payment_status": "paid",
                "status": "complete",
                "amount_total": amount,
                "currency": "usd",
                "customer": f"cus_sim_{token}",
                "customer_details": {"email": email},
            }
        },
    }


def signed(event: dict[str, Any], secret: str) -> tuple[str, str]:
    """The body and its `Stripe-Signature` header."""
    payload = json.dumps(event)
    return payload, stripe.WebhookSignature.generate_signature_header(payload, secret)


async def send(url: str, event: dict[str, Any], secret: str) -> httpx.Response:
    payload, header = signed(event, secret)
    endpoint = url.rstrip("/") + "/api/stripe-webhook"
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            return await client.post(
                endpoint,
                content=payload,
                headers={"Stripe-Signature": header, "Content-Type": "application/json"},
            )
    except httpx.HTTPError as exc:
        raise SimulateError(
            f"could not reach {endpoint} ({type(exc).__name__}): is the app running"
            " (`cliftonsites demo` or `cliftonsites serve`)?"
        ) from None
