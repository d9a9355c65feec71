"""The business finders: the deterministic demo finder and Google Places (recorded shapes)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from dashboard.data.models import IdentificationTarget
from dashboard.worker.finders import DemoFinder
from dashboard.worker.google_places import FIELD_MASK, SEARCH_URL, GooglePlacesFinder
from dashboard.worker.ports import ProviderError

TARGET = IdentificationTarget(
    id=7, position=3, city="Clifton", region="NJ", category="plumber", status="in_progress",
    created_at=datetime.now(UTC),
)  # fmt: skip

# The shape Places API (New) `places:searchText` answers with, trimmed to our field mask.
PAGE_1 = {
    "places": [
        {
            "id": "ChIJ1",
            "displayName": {"text": "Rossi Plumbing", "languageCode": "en"},
            "formattedAddress": "12 Main St, Clifton, NJ 07011, USA",
            "nationalPhoneNumber": "(973) 555-0101",
            "internationalPhoneNumber": "+1 973-555-0101",
            "rating": 4.6,
            "userRatingCount": 31,
            "businessStatus": "OPERATIONAL",
        },
        {
            "id": "ChIJ2",
            "displayName": {"text": "Walsh Pipes", "languageCode": "en"},
            "formattedAddress": "3 Oak Ave, Clifton, NJ 07012, USA",
            "websiteUri": "https://walshpipes.example/",
            "businessStatus": "OPERATIONAL",
        },
        {
            "id": "ChIJ3",
            "displayName": {"text": "Gone Plumbing", "languageCode": "en"},
            "businessStatus": "CLOSED_PERMANENTLY",
        },
    ],
    "nextPageToken": "token-2",
}
PAGE_2 = {
    "places": [
        {
            "id": "ChIJ4",
            "displayName": {"text": "Nguyen & Sons", "languageCode": "en"},
            "internationalPhoneNumber": "+1 973-555-0104",
        }
    ]
}


async def test_the_demo_finder_is_deterministic_and_plausible() -> None:
    first = await DemoFinder().find(TARGET)
    again = await DemoFinder().find(TARGET)
    assert first == again
    assert 6 <= len(first) <= 12
    assert len({b.place_id for b in first}) == len(first)
    assert all(b.phone and "555-01" in b.phone for b in first)
    assert any(b.website for b in first) or len(first) < 8
    other = await DemoFinder().find(TARGET.model_copy(update={"city": "Passaic"}))
    assert {b.place_id for b in other}.isdisjoint({b.place_id for b in first})


async def test_google_places_follows_pages_and_sends_key_and_field_mask() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        body = json.loads(request.content)
        return httpx.Response(200, json=PAGE_2 if body.get("pageToken") == "token-2" else PAGE_1)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    found = await GooglePlacesFinder("key-123", client=client).find(TARGET)
    assert [b.place_id for b in found] == ["ChIJ1", "ChIJ2", "ChIJ4"]
    assert found[0].phone == "(973) 555-0101" and found[0].rating == 4.6
    assert found[0].review_count == 31 and found[0].website is None
    assert found[1].website == "https://walshpipes.example/"
    assert found[2].phone == "+1 973-555-0104"
    assert len(requests) == 2
    first = requests[0]
    assert str(first.url) == SEARCH_URL
    assert first.headers["X-Goog-Api-Key"] == "key-123"
    assert first.headers["X-Goog-FieldMask"] == FIELD_MASK
    assert json.loads(first.content)["textQuery"] == "plumber in Clifton, NJ"
    await client.aclose()


@pytest.mark.parametrize(
    ("status", "retryable"), [(400, False), (403, False), (429, True), (503, True)]
)
async def test_google_errors_become_provider_errors(status: int, retryable: bool) -> None:
    error = {"error": {"code": status, "message": "API key not valid", "status": "INVALID"}}
    client = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda r: httpx.Response(status, json=error))
    )
    with pytest.raises(ProviderError) as caught:
        await GooglePlacesFinder("k", client=client).find(TARGET)
    assert caught.value.retryable is retryable
    assert "API key not valid" in str(caught.value)
    await client.aclose()


async def test_a_network_failure_is_a_retryable_provider_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("no route", request=request)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    with pytest.raises(ProviderError) as caught:
        await GooglePlacesFinder("k", client=client).find(TARGET)
    assert caught.value.retryable
    await client.aclose()


def test_google_places_needs_a_key() -> None:
    with pytest.raises(ValueError, match="GOOGLE_PLACES_API_KEY"):
        GooglePlacesFinder("")
