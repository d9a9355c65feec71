"""Shared helpers for the payments, outreach and route tests (no tests of its own).

`money` opens the runtime on a fresh embedded database, swaps the outreach provider
for a recording fake (the outside world), and talks to the real app over
httpx.ASGITransport. Businesses are inserted straight into the tables, as
`mark_business_deployed` would leave them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import stripe
from fastapi import FastAPI

from dashboard.outreach.base import Lead, LeadReceipt, ProviderError
from dashboard.runtime import Runtime
from dashboard.settings import load_settings

WHSEC = "whsec_test_secret_for_money_tests"
SMARTLEAD_SECRET = "smartlead-shared-secret"
INTERNAL = "internal-secret-value"
TRIGGER = "trigger-secret-value"
_APP: FastAPI | None = None


def app() -> FastAPI:
    """The real FastAPI app without the NiceGUI mount (NiceGUI's app is a process-wide
    singleton that the User-fixture tests own), built once per test session."""
    global _APP
    if _APP is None:
        from dashboard.app import create_app

        _APP = create_app(load_settings(secret_key="k" * 40), with_ui=False)
    return _APP


@dataclass
class FakeProvider:
    """The outreach provider as the outside world: records calls, fails on demand."""

    name: str = "fake"
    added: list[str] = field(default_factory=list)
    stopped: list[str | None] = field(default_factory=list)
    fail_stops: int = 0

    async def add_lead(self, lead: Lead) -> LeadReceipt:
        self.added.append(lead.uuid)
        return LeadReceipt("camp-1", f"lead-{lead.uuid}", {"to": lead.email})

    async def stop_lead(
        self, *, campaign_id: str | None, lead_id: str | None, email: str | None
    ) -> dict[str, Any]:
        if self.fail_stops > 0:
            self.fail_stops -= 1
            raise ProviderError("smartlead is down (injected)")
        self.stopped.append(lead_id)
        return {"ok": True}


@dataclass
class Money:
    client: httpx.AsyncClient
    runtime: Runtime
    provider: FakeProvider

    async def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        async with self.runtime.db.owner() as conn:
            cur = await conn.execute(query, params)  # type: ignore[arg-type]
            return await cur.fetchall() if cur.description else []

    async def value(self, query: str, params: tuple[Any, ...] = ()) -> Any:
        rows = await self.sql(query, params)
        return next(iter(rows[0].values()))

    async def businesses(
        self, n: int, *, outreach: str = "pending", email: bool = True, age_minutes: int = 5
    ) -> list[str]:
        """Insert `n` deployed businesses; return their uuids (b0000000, b0000001, ...)."""
        await self.sql(
            """
            with p as (
              insert into public.pipeline_businesses (place_id, name, category, city, region,
                                                      email, status)
              select 'place-' || i, 'Biz ' || i, 'bakery', 'Clifton', 'NJ',
                     case when %s then 'owner' || i || '@example.com' end, 'deployed'
              from generate_series(0, %s - 1) i returning id, place_id, name, email
            )
            insert into public.qualified_businesses (uuid, pipeline_business_id, place_id, name,
              category, city, region, email, preview_url, outreach_status, deployed_at)
            select 'b' || lpad(substr(place_id, 7), 7, '0'), id, place_id, name, 'bakery',
                   'Clifton', 'NJ', email, 'http://127.0.0.1/sites/x', %s,
                   now() - make_interval(mins => %s)
            from p
            """,
            (email, n, outreach, age_minutes),
        )
        return [f"b{i:07d}" for i in range(n)]

    async def post_stripe(
        self, event: dict[str, Any], *, secret: str = WHSEC, timestamp: int | None = None
    ) -> httpx.Response:
        payload = json.dumps(event)
        header = stripe.WebhookSignature.generate_signature_header(
            payload, secret, timestamp or int(time.time())
        )
        return await self.client.post(
            "/api/stripe-webhook",
            content=payload,
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        )


def checkout_event(
    uuid: str, *, event_id: str | None = None, payment: str | None = None
) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_checkout_{uuid}",
        "object": "event",
        "type": "checkout.session.completed",
        "created": int(time.time()),
        "data": {
            "object": {
                "id": f"cs_test_{uuid}",
                "object": "checkout.session",
                "client_reference_id": uuid,
                "payment_intent": payment or f"pi_{uuid}",
                "payment_status": "paid",
                "customer": f"cus_{uuid}",
                "customer_details": {"email": f"paid-{uuid}@example.com"},
            }
        },
    }


def charge_event(kind: str, payment: str, *, event_id: str) -> dict[str, Any]:
    obj: dict[str, Any] = {"id": f"ch_{payment}", "payment_intent": payment, "currency": "usd"}
    if kind == "charge.refunded":
        obj |= {"object": "charge", "amount": 49900, "amount_refunded": 49900, "refunded": True}
    else:
        obj |= {"object": "dispute", "amount": 49900, "reason": "fraudulent"}
    return {"id": event_id, "object": "event", "type": kind, "created": int(time.time()),
            "data": {"object": obj}}  # fmt: skip
