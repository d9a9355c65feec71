"""Every route, fuzzed from the app's OpenAPI schema (schemathesis + hypothesis).

Hypothesis runs in a worker thread and hands each request to the test's event loop,
where the runtime's pool lives. Our webhook routes get valid credentials (a correct
Stripe signature, the Smartlead secret, the Bearer tokens), so the fuzzed bodies reach
the parsing and processing code. The rules: never a 5xx, and a refused request
writes nothing.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from typing import Any

import hypothesis
import schemathesis
import stripe
from hypothesis import HealthCheck, given, settings
from schemathesis.core import NotSet

from tests.routes_support import (
    INTERNAL,
    SMARTLEAD_SECRET,
    TRIGGER,
    WHSEC,
    Money,
    app,
)

EXAMPLES = 25
OURS = (
    "/api/stripe-webhook",
    "/api/outreach/webhook-events",
    "/api/outreach/start-campaign",
    "/api/internal/activate-site",
    "/api/internal/stop-campaign",
)
COUNTS = (
    "select (select count(*) from stripe_events) s, (select count(*) from outreach_events) o,"
    " (select count(*) from stripe_events where status = 'processing') p"
)


def _credentials(path: str, body: Any) -> tuple[dict[str, str], bytes | None]:
    """Headers and raw body for a fuzzed request, with valid credentials for our routes."""
    raw = None if body is None else json.dumps(body).encode()
    if path == "/api/stripe-webhook":
        raw = raw or b""
        header = stripe.WebhookSignature.generate_signature_header(
            raw.decode(), WHSEC, int(time.time())
        )
        return {"Stripe-Signature": header}, raw
    if path == "/api/outreach/webhook-events" and isinstance(body, dict):
        return {}, json.dumps(body | {"secret_key": SMARTLEAD_SECRET}).encode()
    if path == "/api/outreach/start-campaign":
        return {"Authorization": f"Bearer {TRIGGER}"}, raw
    if path.startswith("/api/internal/"):
        return {"Authorization": f"Bearer {INTERNAL}"}, raw
    return {}, raw


async def _send(
    money: Money, case: schemathesis.Case
) -> tuple[int, dict[str, Any], dict[str, Any]]:
    before = (await money.sql(COUNTS))[0]
    body = None if isinstance(case.body, NotSet) else case.body
    headers, raw = _credentials(case.operation.path, body)
    response = await money.client.request(
        case.method, case.formatted_path, params=case.query or None,
        headers={"Content-Type": "application/json", **(case.headers or {}), **headers},
        content=raw,
    )  # fmt: skip
    after = (await money.sql(COUNTS))[0]
    return response.status_code, before, after


def _checker(
    money: Money, loop: asyncio.AbstractEventLoop, op: Any, failures: list[str], seen: Counter[str]
) -> Any:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.generate],
    )
    @given(case=op.as_strategy())
    def check(case: schemathesis.Case) -> None:
        future = asyncio.run_coroutine_threadsafe(_send(money, case), loop)
        status, before, after = future.result()
        where = f"{case.method} {op.path} -> {status}"
        seen[where] += 1
        if status >= 500 and not (op.path == "/healthz" and status == 503):  # its "unhealthy"
            failures.append(f"{where}: {case.body!r:.200}")
        if status >= 400 and (before["s"], before["o"]) != (after["s"], after["o"]):
            failures.append(f"{where} but wrote: {case.body!r:.200}")
        if after["p"]:
            failures.append(f"{where}: a Stripe event was left 'processing'")

    return check  # fmt: skip


async def test_no_route_answers_5xx_or_writes_half_for_fuzzed_input(money: Money) -> None:
    await money.businesses(3)
    schema = schemathesis.openapi.from_dict(app().openapi())
    loop = asyncio.get_running_loop()
    failures: list[str] = []
    seen: Counter[str] = Counter()
    for operation in schema.get_all_operations():
        await asyncio.to_thread(_checker(money, loop, operation.ok(), failures, seen))
    assert failures == []
    for path in OURS:  # the credentials worked: fuzzed bodies reached the parsers
        assert any(k.split()[1] == path and not k.endswith("401") for k in seen), seen
