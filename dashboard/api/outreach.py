"""`POST /api/outreach/start-campaign` (Bearer `OUTREACH_TRIGGER_SECRET`; called by
trigger `outreach_on_deployed` through pg_net) and `POST /api/outreach/webhook-events`
(Smartlead's events; shared secret in the body or an HMAC header)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from dashboard.api.internal import (
    BUSINESS_REF_BODY,
    REPLIES,
    authorized_business,
    problem,
)
from dashboard.data.query import BackendError
from dashboard.outreach import get_provider
from dashboard.outreach.campaign import start_campaign
from dashboard.outreach.webhooks import (
    MalformedEvent,
    body_secret_ok,
    parse_event,
    raw_body_secret_ok,
    record_event,
    signature_ok,
)
from dashboard.runtime import get_runtime

router = APIRouter(prefix="/api/outreach", tags=["outreach"])

EVENT_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["event_type"],
                "properties": {
                    "event_type": {"type": "string", "example": "EMAIL_REPLY"},
                    "secret_key": {"type": "string"},
                    "sl_email_lead_id": {"type": ["string", "integer"]},
                    "sl_lead_email": {"type": "string"},
                    "campaign_id": {"type": ["string", "integer"]},
                    "event_timestamp": {"type": "string", "format": "date-time"},
                },
            }
        }
    },
}


@router.post("/start-campaign", openapi_extra={"requestBody": BUSINESS_REF_BODY}, responses=REPLIES)
async def start_campaign_route(request: Request) -> JSONResponse:
    """Add a deployed business to the outreach campaign, once."""
    runtime = get_runtime()
    business = await authorized_business(
        request, runtime.settings.outreach_trigger_secret, "OUTREACH_TRIGGER_SECRET", runtime.api
    )
    if isinstance(business, JSONResponse):
        return business
    result = await start_campaign(runtime.api, get_provider(runtime), business.id, source="route")
    body = {
        "qualified_business_id": business.id,
        "outcome": result.outcome,
        "detail": result.detail,
    }
    return JSONResponse(body, status_code=502 if result.outcome == "failed" else 200)


@router.post("/webhook-events", openapi_extra={"requestBody": EVENT_BODY}, responses=REPLIES)
async def webhook_events_route(request: Request) -> JSONResponse:
    """Store a Smartlead event once; unknown event types are stored and ignored."""
    runtime = get_runtime()
    secret = runtime.settings.smartlead_webhook_secret
    if not secret:
        return problem(503, "SMARTLEAD_WEBHOOK_SECRET is not set on the server")
    body = await request.body()
    signed = signature_ok(secret, body, request.headers)
    if not signed and not raw_body_secret_ok(secret, body):
        return problem(401, "authenticate with secret_key in the body or X-Smartlead-Signature")
    try:  # authenticated: now, and only now, the JSON is parsed
        event = parse_event(body)
    except MalformedEvent as exc:
        return problem(400, str(exc))
    if not signed and not body_secret_ok(secret, event):
        return problem(401, "authenticate with secret_key in the body or X-Smartlead-Signature")
    try:
        receipt = await record_event(runtime.api, event)
    except BackendError as exc:
        if not exc.is_invalid_input:
            raise
        return problem(400, f"the event cannot be stored: {exc.message}")
    return JSONResponse(
        {
            "status": "recorded" if receipt.is_new else "duplicate",
            "event_type": receipt.event_type,
            "known_type": receipt.known_type,
            "qualified_business_id": receipt.qualified_business_id,
        }
    )
