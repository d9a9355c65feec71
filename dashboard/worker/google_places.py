"""The Google Places business finder: Places API (New) Text Search over httpx.

`POST https://places.googleapis.com/v1/places:searchText` with the key in
`X-Goog-Api-Key` and a field mask (only the fields we store, which also keeps the
billing SKU low). Pages are followed through `nextPageToken` (at most 60 results,
Google's cap). Permanently closed places are dropped; errors become ProviderError
(retryable for 429 and 5xx, not for a bad key or request).
"""

from __future__ import annotations

from typing import Any

import httpx

from dashboard.data.models import IdentificationTarget
from dashboard.worker.ports import FoundBusiness, ProviderError

SEARCH_URL = "https://places.googleapis.com/v1/places:searchText"
FIELD_MASK = ",".join(
    [
        "places.id",
        "places.displayName",
        "places.formattedAddress",
        "places.nationalPhoneNumber",
        "places.internationalPhoneNumber",
        "places.websiteUri",
        "places.rating",
        "places.userRatingCount",
        "places.businessStatus",
        "nextPageToken",
    ]
)


class GooglePlacesFinder:
    """Text search for "<category> in <city>, <region>", following pages."""

    name = "google_places"

    def __init__(
        self,
        api_key: str,
        *,
        client: httpx.AsyncClient | None = None,
        max_pages: int = 3,
        timeout: float = 15.0,
    ) -> None:
        if not api_key:
            raise ValueError("GOOGLE_PLACES_API_KEY is empty: set it, or use the demo finder")
        self.api_key = api_key
        self.client = client or httpx.AsyncClient(timeout=timeout)
        self.max_pages = max_pages

    async def find(self, target: IdentificationTarget) -> list[FoundBusiness]:
        body: dict[str, Any] = {
            "textQuery": f"{target.category} in {target.city}, {target.region}",
            "pageSize": 20,
        }
        found: list[FoundBusiness] = []
        for _ in range(self.max_pages):
            data = await self._search(body)
            found.extend(p for p in map(parse_place, data.get("places") or []) if p is not None)
            token = data.get("nextPageToken")
            if not token:
                break
            body = {**body, "pageToken": token}
        return found

    async def _search(self, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"X-Goog-Api-Key": self.api_key, "X-Goog-FieldMask": FIELD_MASK}
        try:
            response = await self.client.post(SEARCH_URL, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ProviderError(self.name, f"request failed: {exc!r}") from exc
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code != 200 or not isinstance(data, dict):
            raise ProviderError(
                self.name,
                f"HTTP {response.status_code}: {_error_message(data, response.text)}",
                retryable=response.status_code == 429 or response.status_code >= 500,
            )
        return data

    async def aclose(self) -> None:
        await self.client.aclose()


def _error_message(data: Any, text: str) -> str:
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        error = data["error"]
        return f"{error.get('status', '')} {error.get('message', '')}".strip()
    return text[:200] or "no body"


def parse_place(place: dict[str, Any]) -> FoundBusiness | None:
    """One `places[]` entry as a FoundBusiness; None when closed for good or nameless."""
    if place.get("businessStatus") == "CLOSED_PERMANENTLY":
        return None
    name = (place.get("displayName") or {}).get("text")
    place_id = place.get("id")
    if not name or not place_id:
        return None
    rating = place.get("rating")
    return FoundBusiness(
        place_id=str(place_id),
        name=str(name),
        address=place.get("formattedAddress"),
        phone=place.get("nationalPhoneNumber") or place.get("internationalPhoneNumber"),
        website=place.get("websiteUri"),
        rating=float(rating) if rating is not None else None,
        review_count=place.get("userRatingCount"),
    )
