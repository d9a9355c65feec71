"""The outreach provider port: what a provider must do, and the errors it raises.

A provider adds a business (a *lead*) to a cold-email campaign with its preview link,
and stops that lead again once the business has paid. Two implementations exist:
`smartlead.SmartleadProvider` (the real one, over HTTP) and `outbox.OutboxProvider`
(the demo default: it renders the email it would send and sends nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

#: Name of the Smartlead custom field that carries our public business uuid, so a
#: webhook event can be mapped back to its business even without a stored lead id.
UUID_FIELD = "cs_uuid"


@dataclass(frozen=True)
class Lead:
    """One business as the outreach provider sees it."""

    qualified_business_id: int
    uuid: str
    name: str
    email: str
    city: str
    category: str
    preview_url: str

    @property
    def site_url(self) -> str:
        return self.preview_url

    @property
    def claim_url(self) -> str:
        """The claim page beside the site, on the sites origin (`/claim/<uuid>`)."""
        return claim_url_for(self.preview_url, self.uuid)


def claim_url_for(preview_url: str, uuid: str) -> str:
    """`<origin of the site>/claim/<uuid>`: the claim page is served beside every site."""
    parts = urlsplit(preview_url)
    return f"{parts.scheme}://{parts.netloc}/claim/{uuid}" if parts.netloc else f"/claim/{uuid}"


@dataclass(frozen=True)
class LeadReceipt:
    """What the provider answered when a lead was added."""

    campaign_id: str
    lead_id: str | None
    details: dict[str, Any] = field(default_factory=dict)


class ProviderError(RuntimeError):
    """The provider refused or could not be reached; `retryable` says whether to try later."""

    def __init__(self, message: str, *, retryable: bool = True, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


@runtime_checkable
class OutreachProvider(Protocol):
    """Adds leads to a campaign and stops them. Both calls must be safe to repeat."""

    name: str

    async def add_lead(self, lead: Lead) -> LeadReceipt: ...

    async def stop_lead(
        self, *, campaign_id: str | None, lead_id: str | None, email: str | None
    ) -> dict[str, Any]: ...
