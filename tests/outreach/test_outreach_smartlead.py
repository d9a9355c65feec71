"""The Smartlead provider against httpx.MockTransport with Smartlead's response shapes."""

from __future__ import annotations

import json

import httpx
import pytest

from dashboard.outreach.base import Lead, ProviderError
from dashboard.outreach.smartlead import SmartleadProvider

LEAD = Lead(
    7,
    "abc12345",
    "Rosa's Bakery",
    "rosa@example.com",
    "Clifton",
    "bakery",
    "https://sites.example/abc12345",
)
ADDED = {
    "ok": True,
    "upload_count": 1,
    "total_leads": 1,
    "already_added_to_campaign": 0,
    "duplicate_count": 0,
    "invalid_email_count": 0,
    "unsubscribed_leads": [],
}
LEAD_BY_EMAIL = {
    "id": 2233,
    "first_name": None,
    "email": "rosa@example.com",
    "company_name": "Rosa's Bakery",
    "custom_fields": {"cs_uuid": "abc12345"},
}


class Smartlead:
    """A scripted Smartlead: each path answers from a queue of (status, body, headers)."""

    def __init__(self, script: dict[str, list[tuple[int, object, dict[str, str]]]]) -> None:
        self.script = script
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, body, headers = self.script[request.url.path].pop(0)
        return httpx.Response(status, json=body, headers=headers)


def provider(fake: Smartlead, sleeps: list[float]) -> SmartleadProvider:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    return SmartleadProvider(
        "key-123", "9001", transport=httpx.MockTransport(fake), sleep=sleep, backoff=0.5
    )


async def test_it_adds_the_lead_with_its_preview_link_and_finds_its_id() -> None:
    fake = Smartlead(
        {
            "/api/v1/campaigns/9001/leads": [(200, ADDED, {})],
            "/api/v1/leads/": [(200, LEAD_BY_EMAIL, {})],
        }
    )
    receipt = await provider(fake, []).add_lead(LEAD)
    assert receipt.campaign_id == "9001" and receipt.lead_id == "2233"
    sent = json.loads(fake.requests[0].content)["lead_list"][0]
    assert sent["email"] == "rosa@example.com" and sent["website"] == LEAD.preview_url
    assert sent["custom_fields"]["cs_uuid"] == "abc12345"
    assert sent["custom_fields"]["site_url"] == LEAD.preview_url
    assert sent["custom_fields"]["claim_url"] == "https://sites.example/claim/abc12345"
    assert fake.requests[0].url.params["api_key"] == "key-123"
    assert fake.requests[1].url.params["email"] == "rosa@example.com"


async def test_it_retries_429_honouring_retry_after_then_5xx_with_backoff() -> None:
    fake = Smartlead(
        {
            "/api/v1/campaigns/9001/leads": [
                (429, {"message": "Rate limit exceeded"}, {"Retry-After": "3"}),
                (502, {"message": "Bad gateway"}, {}),
                (200, ADDED, {}),
            ],
            "/api/v1/leads/": [(200, LEAD_BY_EMAIL, {})],
        }
    )
    sleeps: list[float] = []
    receipt = await provider(fake, sleeps).add_lead(LEAD)
    assert receipt.lead_id == "2233"
    assert sleeps[0] == 3.0 and 1.0 <= sleeps[1] <= 1.25
    assert len(fake.requests) == 4


async def test_it_gives_up_after_four_5xx_answers_with_a_retryable_error() -> None:
    fake = Smartlead({"/api/v1/campaigns/9001/leads": [(503, {"message": "down"}, {})] * 4})
    sleeps: list[float] = []
    with pytest.raises(ProviderError) as caught:
        await provider(fake, sleeps).add_lead(LEAD)
    assert caught.value.retryable and caught.value.status == 503
    assert len(sleeps) == 3 and "key-123" not in str(caught.value)


async def test_a_4xx_answer_is_final_and_not_retried() -> None:
    fake = Smartlead(
        {"/api/v1/campaigns/9001/leads": [(400, {"message": "campaign not found"}, {})]}
    )
    with pytest.raises(ProviderError) as caught:
        await provider(fake, []).add_lead(LEAD)
    assert not caught.value.retryable and "campaign not found" in str(caught.value)
    assert len(fake.requests) == 1


async def test_an_invalid_address_is_a_final_error() -> None:
    answer = ADDED | {"upload_count": 0, "invalid_email_count": 1}
    fake = Smartlead({"/api/v1/campaigns/9001/leads": [(200, answer, {})]})
    with pytest.raises(ProviderError, match="rejected the address"):
        await provider(fake, []).add_lead(LEAD)


async def test_stopping_pauses_the_lead_and_a_vanished_lead_counts_as_stopped() -> None:
    fake = Smartlead(
        {
            "/api/v1/campaigns/9001/leads/2233/pause": [
                (200, {"ok": True, "data": "Lead paused"}, {}),
                (404, {"message": "Lead not found"}, {}),
            ]
        }
    )
    smartlead = provider(fake, [])
    first = await smartlead.stop_lead(campaign_id="9001", lead_id="2233", email=None)
    second = await smartlead.stop_lead(campaign_id="9001", lead_id="2233", email=None)
    assert first["ok"] and second["ok"]
    assert [r.method for r in fake.requests] == ["POST", "POST"]


async def test_stopping_without_a_lead_id_looks_it_up_by_email() -> None:
    fake = Smartlead(
        {
            "/api/v1/leads/": [(200, LEAD_BY_EMAIL, {})],
            "/api/v1/campaigns/9001/leads/2233/pause": [(200, {"ok": True}, {})],
        }
    )
    await provider(fake, []).stop_lead(campaign_id=None, lead_id=None, email="rosa@example.com")
    assert [r.url.path for r in fake.requests][-1] == "/api/v1/campaigns/9001/leads/2233/pause"


async def test_a_network_error_is_retried() -> None:
    calls = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ConnectTimeout("timed out", request=request)
        return httpx.Response(200, json={"ok": True})

    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    smartlead = SmartleadProvider("k", "9001", transport=httpx.MockTransport(flaky), sleep=sleep)
    assert (await smartlead.stop_lead(campaign_id="9001", lead_id="1", email=None))["ok"]
    assert len(calls) == 2 and len(sleeps) == 1
