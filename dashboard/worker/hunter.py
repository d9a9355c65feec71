"""Hunter.io as the contact step's enrichment service: the Domain Search API over httpx.

`GET {HUNTER_API_BASE}/v2/domain-search?company=<name>&type=personal&limit=10` with the
key in the `X-API-KEY` header (so it never appears in a URL or an access log). The
businesses we build for have no website, hence no domain: Hunter's Domain Search takes
the company name instead and finds the domain itself. Its answer is
`{"data": {"domain", "emails": [{"value", "type", "confidence", "position",
"seniority", "verification": {"status"}}, ...]}, "meta": {...}}`; errors are
`{"errors": [{"id", "code", "details"}]}` with 400 (wrong params), 401 (bad key), 403,
429 (rate limit or monthly quota), 451 and 5xx.

The address picked is the owner's when one is named (position or seniority), else the
most confident personal one; addresses Hunter verified as invalid, or below
`min_confidence`, are passed over. A 429, a 5xx or a timeout is retryable; a bad key
or request is not. Either way the contact chain records why and queues the business.
"""

from __future__ import annotations

from typing import Any

import httpx

from dashboard.data.models import IdentificationTarget
from dashboard.worker.ports import ContactResult, FoundBusiness, ProviderError

OWNER_WORDS = ("owner", "founder", "proprietor", "president", "ceo", "principal", "manager")


class HunterContactFinder:
    name = "hunter"

    def __init__(
        self,
        api_key: str,
        *,
        api_base: str = "https://api.hunter.io",
        client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        min_confidence: int = 50,
    ) -> None:
        if not api_key:
            raise ValueError("HUNTER_API_KEY is empty: set it, or use the demo contacts")
        self.api_key = api_key
        self.url = api_base.rstrip("/") + "/v2/domain-search"
        self.client = client or httpx.AsyncClient(timeout=timeout)
        self.min_confidence = min_confidence

    async def find_contact(
        self, business: FoundBusiness, target: IdentificationTarget
    ) -> ContactResult:
        params = {"company": business.name, "type": "personal", "limit": "10"}
        try:
            response = await self.client.get(
                self.url, params=params, headers={"X-API-KEY": self.api_key}
            )
        except httpx.TimeoutException:
            raise ProviderError(self.name, "Hunter.io did not answer in time") from None
        except httpx.HTTPError as exc:
            raise ProviderError(
                self.name, f"cannot reach Hunter.io ({type(exc).__name__})"
            ) from None
        if response.status_code != 200:
            raise _failure(response)
        emails = _emails(response)
        usable = [e for e in emails if self._usable(e)]
        if not usable:
            seen = f" ({len(emails)} below confidence {self.min_confidence} or invalid)"
            return ContactResult(
                None,
                reason=f"Hunter.io knows no owner address for {business.name!r}"
                + (seen if emails else ""),
            )
        best = max(usable, key=lambda e: (_is_owner(e), int(e.get("confidence") or 0)))
        return ContactResult(str(best["value"]), "hunter")

    def _usable(self, email: dict[str, Any]) -> bool:
        verification = email.get("verification")
        status = verification.get("status") if isinstance(verification, dict) else None
        return (
            isinstance(email.get("value"), str)
            and status != "invalid"
            and int(email.get("confidence") or 0) >= self.min_confidence
        )


def _emails(response: httpx.Response) -> list[dict[str, Any]]:
    try:
        body = response.json()
    except ValueError:
        raise ProviderError(
            "hunter", "Hunter.io answered 200 with a body that is not JSON"
        ) from None
    data = body.get("data") if isinstance(body, dict) else None
    emails = data.get("emails") if isinstance(data, dict) else None
    if not isinstance(emails, list):
        raise ProviderError("hunter", "Hunter.io's answer has no data.emails list")
    return [e for e in emails if isinstance(e, dict)]


def _is_owner(email: dict[str, Any]) -> bool:
    words = f"{email.get('position') or ''} {email.get('seniority') or ''}".lower()
    return any(word in words for word in OWNER_WORDS) or "executive" in words


def _failure(response: httpx.Response) -> ProviderError:
    status = response.status_code
    detail = ""
    try:
        errors = response.json().get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            detail = str(errors[0].get("details") or errors[0].get("id") or "")[:200]
    except (ValueError, AttributeError):
        pass
    suffix = f": {detail}" if detail else ""
    if status == 429:
        return ProviderError("hunter", f"Hunter.io rate limit or quota reached (429){suffix}")
    if status >= 500:
        return ProviderError("hunter", f"Hunter.io failed ({status}){suffix}")
    if status in (401, 403):
        return ProviderError(
            "hunter", f"Hunter.io refused the key ({status}){suffix}: check HUNTER_API_KEY",
            retryable=False,
        )  # fmt: skip
    return ProviderError(
        "hunter", f"Hunter.io refused the request ({status}){suffix}", retryable=False
    )
