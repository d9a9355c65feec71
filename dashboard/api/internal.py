"""`POST /api/internal/activate-site` and `/api/internal/stop-campaign`, behind Bearer
`INTERNAL_API_SECRET` (compared in constant time).

Both take `{"qualified_business_id": 12}` or `{"uuid": "abc12345"}` and are safe to
repeat. The Stripe webhook calls the same functions in-process; these routes are for
the worker, admins' scripts and anything else outside the app. Also home of the small
request helpers the other webhook routes share (Bearer check, business reference, both
in one `authorized_business`).
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dashboard.data.models import QualifiedBusiness
from dashboard.data.query import Backend
from dashboard.outreach import get_provider
from dashboard.outreach.base import ProviderError
from dashboard.outreach.campaign import BusinessNotFound, load_business, stop_campaign
from dashboard.payments.effects import activate_site
from dashboard.runtime import get_runtime

router = APIRouter(prefix="/api/internal", tags=["internal"])
UUID_PATTERN = "^[a-z0-9]{8}$"


class BusinessRef(BaseModel):
    """Which business: its numeric id or its public 8-character uuid."""

    model_config = ConfigDict(extra="ignore")
    qualified_business_id: int | None = Field(None, ge=1, le=2**63 - 1)
    uuid: str | None = Field(None, pattern=UUID_PATTERN)


BUSINESS_REF_BODY: dict[str, Any] = {
    "required": True,
    "content": {"application/json": {"schema": BusinessRef.model_json_schema()}},
}
REPLIES: dict[int | str, dict[str, Any]] = {
    400: {"description": "malformed body; the error says what to send"},
    401: {"description": "missing or wrong Bearer token"},
    404: {"description": "no such business"},
    503: {"description": "the secret is not configured on the server"},
}


def problem(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


def bearer_problem(request: Request, secret: str, name: str) -> JSONResponse | None:
    """None when the request carries `Authorization: Bearer <secret>`, else the answer."""
    if not secret:
        return problem(503, f"{name} is not set on the server, so this route is closed")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), secret.encode()
    ):
        return problem(
            401, f"send Authorization: Bearer <{name}>", **{"WWW-Authenticate": "Bearer"}
        )
    return None


async def business_from_body(api: Backend, body: bytes) -> QualifiedBusiness | JSONResponse:
    """The business a body names, or a 400/404 answer saying what is wrong."""
    try:
        ref = BusinessRef.model_validate_json(body or b"null")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        return problem(
            400,
            f'{where}: {first["msg"]}; send {{"qualified_business_id": n}} or {{"uuid": "..."}}',
        )
    if ref.qualified_business_id is None and ref.uuid is None:
        return problem(400, 'send {"qualified_business_id": n} or {"uuid": "abc12345"}')
    try:
        return await load_business(api, business_id=ref.qualified_business_id, uuid=ref.uuid)
    except BusinessNotFound as exc:
        return problem(404, str(exc))


async def authorized_business(
    request: Request, secret: str, name: str, api: Backend
) -> QualifiedBusiness | JSONResponse:
    """The business a request with `Authorization: Bearer <secret>` names, or the answer
    refusing it (the token is checked before the body is read)."""
    refused = bearer_problem(request, secret, name)
    if refused is not None:
        return refused
    return await business_from_body(api, await request.body())


@router.post("/activate-site", openapi_extra={"requestBody": BUSINESS_REF_BODY}, responses=REPLIES)
async def activate_site_route(request: Request) -> JSONResponse:
    """Make a business's site live; repeating it changes nothing."""
    runtime = get_runtime()
    business = await authorized_business(
        request, runtime.settings.internal_api_secret, "INTERNAL_API_SECRET", runtime.api
    )
    if isinstance(business, JSONResponse):
        return business
    result = await activate_site(runtime.db, business.id, event_id=None, source="internal route")
    return JSONResponse({"qualified_business_id": business.id, **result})


@router.post("/stop-campaign", openapi_extra={"requestBody": BUSINESS_REF_BODY}, responses=REPLIES)
async def stop_campaign_route(request: Request) -> JSONResponse:
    """Stop emailing a business; repeating it changes nothing."""
    runtime = get_runtime()
    business = await authorized_business(
        request, runtime.settings.internal_api_secret, "INTERNAL_API_SECRET", runtime.api
    )
    if isinstance(business, JSONResponse):
        return business
    try:
        result = await stop_campaign(
            runtime.api, get_provider(runtime), business, reason="internal route"
        )
    except ProviderError as exc:
        return problem(502, f"the outreach provider failed: {exc}; retry later")
    return JSONResponse({"qualified_business_id": business.id, **result})
