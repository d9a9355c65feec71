"""Bodies are bounded and authenticated before they are parsed: every POST route refuses
a body over `MAX_BODY_BYTES` with 413 (declared or streamed), the webhooks check their
signature or secret on the raw bytes first, and hostile JSON is a 400, never a 500.

The real app (without the NiceGUI mount) over httpx's ASGI transport, on a real
database; Stripe's signature is made with the `stripe` library.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator

import pytest
import stripe
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from dashboard.body_limit import BodyLimit
from dashboard.json_body import MAX_DEPTH, loads_bounded
from tests.routes_support import (
    INTERNAL,
    SMARTLEAD_SECRET,
    TRIGGER,
    WHSEC,
    Money,
    app,
)

TWO_MB = 2 * 1024 * 1024
DEEP = b"[" * 5000 + b"]" * 5000
DEEP_OBJECT = b'{"a":' * 5000 + b"1" + b"}" * 5000


def post_routes() -> list[str]:
    """Every POST route of the app, read from the app itself (a new one is covered)."""
    paths = [path for path, item in app().openapi()["paths"].items() if "post" in item]
    assert len(paths) >= 7, paths
    return sorted(paths)


def stripe_headers(payload: bytes) -> dict[str, str]:
    header = stripe.WebhookSignature.generate_signature_header(
        payload.decode(), WHSEC, int(time.time())
    )
    return {"Stripe-Signature": header, "Content-Type": "application/json"}


def credentials(path: str, payload: bytes) -> dict[str, str]:
    """Valid credentials for `path`, so a refusal is about the body and nothing else."""
    if path == "/api/stripe-webhook":
        return stripe_headers(payload)
    if path == "/api/outreach/webhook-events":
        signature = hmac.new(SMARTLEAD_SECRET.encode(), payload, hashlib.sha256).hexdigest()
        return {"X-Smartlead-Signature": signature, "Content-Type": "application/json"}
    if path == "/api/outreach/start-campaign":
        return {"Authorization": f"Bearer {TRIGGER}", "Content-Type": "application/json"}
    if path.startswith("/api/internal/"):
        return {"Authorization": f"Bearer {INTERNAL}", "Content-Type": "application/json"}
    return {"Content-Type": "application/json", "Origin": "http://testserver"}


async def stored_counts(money: Money) -> dict[str, int]:
    row = (
        await money.sql(
            "select (select count(*) from stripe_events) s,"
            " (select count(*) from outreach_events) o,"
            " (select count(*) from automation_commands) c"
        )
    )[0]
    return {k: int(v) for k, v in row.items()}


@pytest.mark.parametrize("path", post_routes())
async def test_a_2_mb_body_is_413_on_every_post_route(money: Money, path: str) -> None:
    payload = b'{"pad": "' + b"x" * TWO_MB + b'"}'
    before = await stored_counts(money)
    response = await money.client.post(path, content=payload, headers=credentials(path, payload))
    assert response.status_code == 413, response.text
    assert "over the limit of 1048576 bytes" in response.json()["error"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert await stored_counts(money) == before


@pytest.mark.parametrize("path", post_routes())
async def test_a_2_mb_body_streamed_without_a_length_is_413_too(money: Money, path: str) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(32):
            sent += 64 * 1024
            yield b" " * (64 * 1024)

    headers = {**credentials(path, b""), "Transfer-Encoding": "chunked"}
    response = await money.client.post(path, content=chunks(), headers=headers)
    if path.startswith("/api/admin/"):  # no session: refused before a byte was read
        assert response.status_code == 401, response.text
        return
    assert response.status_code == 413, response.text
    assert "content-length" not in {k.lower() for k in response.request.headers}


async def test_the_streamed_count_stops_the_app_reading_past_the_limit() -> None:
    """Inside the app, the body ends at the limit: what comes after is never handed on."""
    seen: list[int] = []

    async def read_all(request: Request) -> JSONResponse:
        total = 0
        async for chunk in request.stream():
            total += len(chunk)
            seen.append(total)
        return JSONResponse({"read": total})

    limited = BodyLimit(FastAPI(routes=[Route("/", read_all, methods=["POST"])]), max_bytes=4096)
    sent: list[dict[str, object]] = []
    chunks = [{"type": "http.request", "body": b"x" * 1024, "more_body": True}] * 100

    async def receive() -> dict[str, object]:
        return chunks.pop()

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": [], "query_string": b""}
    await limited(scope, receive, send)  # type: ignore[arg-type]
    assert sent[0]["status"] == 413
    assert len(sent) == 2  # the 413 and its body; nothing from the app after it
    assert max(seen, default=0) <= 4096
    assert len(chunks) == 100 - 5  # one chunk past the limit was read, no more


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["array", "object"])
@pytest.mark.parametrize("path", post_routes())
async def test_a_5000_deep_json_body_is_400_with_valid_credentials(
    money: Money, path: str, body: bytes
) -> None:
    if path.startswith("/api/admin/"):
        pytest.skip("needs a session: tests/api/test_admin_api.py sends it signed in")
    before = await stored_counts(money)
    response = await money.client.post(path, content=body, headers=credentials(path, body))
    assert response.status_code == 400, response.text
    assert await stored_counts(money) == before


@pytest.mark.parametrize("body", [DEEP, b"not json", b'{"event_type": "EMAIL_SENT"}'])
async def test_the_smartlead_webhook_refuses_an_unauthenticated_body_before_parsing_it(
    money: Money, body: bytes
) -> None:
    response = await money.client.post(
        "/api/outreach/webhook-events", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401, response.text  # not 400: the JSON was never read
    assert await stored_counts(money) == {"s": 0, "o": 0, "c": 0}


async def test_the_smartlead_secret_must_be_the_real_key_not_text_that_looks_like_it(
    money: Money,
) -> None:
    """The secret is found in the raw bytes first, then confirmed on the parsed event."""
    quoted = json.dumps(f'"secret_key": "{SMARTLEAD_SECRET}"')
    body = f'{{"event_type": "EMAIL_SENT", "note": {quoted}}}'.encode()
    response = await money.client.post(
        "/api/outreach/webhook-events", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401
    good = json.dumps({"event_type": "EMAIL_SENT", "secret_key": SMARTLEAD_SECRET}).encode()
    response = await money.client.post(
        "/api/outreach/webhook-events", content=good, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text


async def test_a_deep_smartlead_body_with_the_secret_is_400(money: Money) -> None:
    body = b'{"secret_key": "' + SMARTLEAD_SECRET.encode() + b'", "x": ' + DEEP + b"}"
    response = await money.client.post(
        "/api/outreach/webhook-events", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert "deeper than" in response.json()["error"]


async def test_an_unsigned_deep_stripe_body_is_refused_for_its_signature(money: Money) -> None:
    response = await money.client.post(
        "/api/stripe-webhook", content=DEEP, headers={"Stripe-Signature": "t=1,v1=00"}
    )
    assert response.status_code == 400
    assert "Stripe-Signature" in response.json()["error"]


def test_bounded_json_allows_real_documents_and_refuses_deeper_ones() -> None:
    nested: object = 1
    for _ in range(MAX_DEPTH):
        nested = [nested]
    assert loads_bounded(json.dumps(nested)) == nested
    with pytest.raises(ValueError, match="deeper than"):
        loads_bounded(json.dumps([nested]))
    for hostile in (DEEP, DEEP_OBJECT, b"\xff\xfe", b"{"):
        with pytest.raises(ValueError):
            loads_bounded(hostile)
