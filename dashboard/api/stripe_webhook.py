"""`POST /api/stripe-webhook`: Stripe's events, verified with `Stripe-Signature`
(official library, 300 s tolerance), stored once and processed once.

Answers: 400 for a bad signature or body (nothing stored), 200 for processed,
ignored, deferred or duplicate events and for failures a retry cannot fix (shown in
reconciliation), 500 for a transient failure so that Stripe retries, 503 when another
delivery of the same event is still being processed after 20 s.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from dashboard.api.internal import problem
from dashboard.data.query import BackendError
from dashboard.outreach import get_provider
from dashboard.payments.locking import LockBusy
from dashboard.payments.stripe_events import InvalidEvent, handle_event, verify_event
from dashboard.runtime import get_runtime

router = APIRouter(tags=["payments"])

EVENT_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["id", "type", "data"],
                "properties": {
                    "id": {"type": "string", "example": "evt_1"},
                    "type": {"type": "string", "example": "checkout.session.completed"},
                    "created": {"type": "integer"},
                    "data": {"type": "object", "properties": {"object": {"type": "object"}}},
                },
            }
        }
    },
}
SIGNATURE = {
    "name": "Stripe-Signature",
    "in": "header",
    "required": True,
    "schema": {"type": "string"},
}
REPLIES: dict[int | str, dict[str, Any]] = {
    400: {"description": "bad signature or body; nothing was stored"},
    500: {"description": "a transient failure; Stripe retries"},
    503: {"description": "not configured, or the same event is still being processed"},
}


@router.post(
    "/api/stripe-webhook",
    openapi_extra={"requestBody": EVENT_BODY, "parameters": [SIGNATURE]},
    responses=REPLIES,
)
async def stripe_webhook_route(request: Request) -> JSONResponse:
    """Verify, store once and process a Stripe event."""
    runtime = get_runtime()
    secret = runtime.settings.stripe_webhook_secret
    if not secret:
        return problem(503, "STRIPE_WEBHOOK_SECRET is not set on the server")
    payload = await request.body()
    try:
        event = verify_event(payload, request.headers.get("stripe-signature"), secret)
    except InvalidEvent as exc:
        return problem(400, str(exc))
    try:
        outcome = await handle_event(runtime.db, get_provider(runtime), event)
    except LockBusy as exc:
        return problem(503, str(exc), **{"Retry-After": "30"})
    except BackendError as exc:
        if exc.is_invalid_input:
            return problem(400, f"the event cannot be stored: {exc.message}")
        raise
    return JSONResponse(
        {"status": outcome.status, "detail": outcome.detail}, status_code=outcome.http_status
    )
