"""Smartlead over HTTP: add a lead with its preview link, find its id, pause it.

Smartlead authenticates with an `api_key` query parameter, so URLs are never put in
error messages or logs. Calls time out, and 429, 5xx and network errors are retried
with exponential backoff (honouring `Retry-After`); other 4xx answers are final.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from dashboard.backoff import Backoff
from dashboard.outreach.base import UUID_FIELD, Lead, LeadReceipt, ProviderError

BASE_URL = "https://server.smartlead.ai/api/v1"
Sleep = Callable[[float], Awaitable[None]]


class SmartleadProvider:
    """The real outreach provider (SMARTLEAD_API_KEY, SMARTLEAD_CAMPAIGN_ID)."""

    name = "smartlead"

    def __init__(
        self,
        api_key: str,
        campaign_id: str,
        *,
        base_url: str = BASE_URL,
        timeout: float = 15.0,
        attempts: int = 4,
        backoff: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not api_key or not campaign_id:
            raise ValueError("Smartlead needs SMARTLEAD_API_KEY and SMARTLEAD_CAMPAIGN_ID")
        self.campaign_id = campaign_id
        self._api_key = api_key
        self._attempts = attempts
        self._backoff = Backoff(backoff, jitter=(1.0, 1.25))  # no cap: a few attempts
        self._sleep = sleep
        self._client = httpx.AsyncClient(
            base_url=base_url, timeout=httpx.Timeout(timeout, connect=5.0), transport=transport
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def add_lead(self, lead: Lead) -> LeadReceipt:
        body = {
            "lead_list": [
                {
                    "email": lead.email,
                    "company_name": lead.name,
                    "website": lead.preview_url,
                    "location": lead.city,
                    "custom_fields": {
                        UUID_FIELD: lead.uuid,
                        "preview_url": lead.preview_url,
                        "site_url": lead.site_url,
                        "claim_url": lead.claim_url,
                        "category": lead.category,
                    },
                }
            ],
            "settings": {
                "ignore_global_block_list": False,
                "ignore_unsubscribe_list": False,
                "ignore_duplicate_leads_in_other_campaign": False,
            },
        }
        answer = await self._call("POST", f"/campaigns/{self.campaign_id}/leads", json=body)
        if int(answer.get("invalid_email_count") or 0) > 0:
            raise ProviderError(f"Smartlead rejected the address {lead.email}", retryable=False)
        added = int(answer.get("upload_count") or 0) + int(
            answer.get("already_added_to_campaign") or 0
        )
        if added == 0:
            reason = _refusal(answer)
            raise ProviderError(f"Smartlead did not add the lead: {reason}", retryable=False)
        lead_id = await self.find_lead_id(lead.email)
        return LeadReceipt(campaign_id=self.campaign_id, lead_id=lead_id, details=answer)

    async def find_lead_id(self, email: str) -> str | None:
        answer = await self._call("GET", "/leads/", params={"email": email})
        lead_id = answer.get("id") if isinstance(answer, dict) else None
        return str(lead_id) if lead_id is not None else None

    async def stop_lead(
        self, *, campaign_id: str | None, lead_id: str | None, email: str | None
    ) -> dict[str, Any]:
        campaign = campaign_id or self.campaign_id
        if lead_id is None and email:
            lead_id = await self.find_lead_id(email)
        if lead_id is None:
            return {"ok": True, "note": "no such lead at Smartlead; nothing to stop"}
        path = f"/campaigns/{campaign}/leads/{lead_id}/pause"
        return await self._call("POST", path, missing_ok=True)

    async def _call(
        self, method: str, path: str, *, missing_ok: bool = False, **kwargs: Any
    ) -> dict[str, Any]:
        params = {**kwargs.pop("params", {}), "api_key": self._api_key}
        for attempt in range(1, self._attempts + 1):
            try:
                response = await self._client.request(method, path, params=params, **kwargs)
            except httpx.TransportError as exc:
                failure = ProviderError(f"Smartlead unreachable ({type(exc).__name__})")
                delay = self._delay(attempt, None)
            else:
                if response.status_code == 404 and missing_ok:
                    return {"ok": True, "note": "lead not found at Smartlead"}
                if response.status_code < 400:
                    return _json(response)
                failure = _http_failure(response)
                if not failure.retryable:
                    raise failure
                delay = self._delay(attempt, response.headers.get("retry-after"))
            if attempt == self._attempts:
                raise failure
            await self._sleep(delay)
        raise AssertionError("unreachable")

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after and retry_after.strip().isdigit():
            return min(float(retry_after), 60.0)
        return self._backoff.delay(attempt)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        raise ProviderError("Smartlead answered with something that is not JSON") from None
    if isinstance(value, list):
        value = value[0] if value else {}
    return value if isinstance(value, dict) else {"value": value}


def _http_failure(response: httpx.Response) -> ProviderError:
    status = response.status_code
    retryable = status == 429 or status >= 500
    try:
        detail = response.json().get("message") or response.text[:200]
    except (ValueError, AttributeError):
        detail = response.text[:200]
    return ProviderError(
        f"Smartlead answered {status}: {detail}", retryable=retryable, status=status
    )


def _refusal(answer: dict[str, Any]) -> str:
    for key in ("unsubscribed_leads", "block_count", "duplicate_count"):
        if answer.get(key):
            return f"{key} = {answer[key]}"
    return "no lead uploaded"
