"""The provider ports the worker talks through, and the values that cross them.

Each port has a real local implementation (demo finder, demo contacts, Jinja2
builder, database deployer) beside real providers (Google Places, Hunter.io), so a
hosting API or another data source is one new class, not a change to the worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from dashboard.data.models import IdentificationTarget, PipelineBusiness


class ProviderError(RuntimeError):
    """A provider failed. `retryable` says whether trying the same item again may work."""

    def __init__(self, provider: str, message: str, *, retryable: bool = True) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.retryable = retryable


@dataclass(frozen=True)
class FoundBusiness:
    """A business a finder returned for a target, before de-duplication."""

    place_id: str
    name: str
    address: str | None = None
    phone: str | None = None
    #: An email the source itself lists (most sources have none; see ContactFinder).
    email: str | None = None
    website: str | None = None
    rating: float | None = None
    review_count: int | None = None


@dataclass(frozen=True)
class BuiltSite:
    """A rendered static site: relative file name -> content."""

    uuid: str
    files: dict[str, bytes] = field(default_factory=dict)


class BusinessFinder(Protocol):
    name: str

    async def find(self, target: IdentificationTarget) -> list[FoundBusiness]:
        """Local businesses for a city x category; raise ProviderError on failure."""
        ...


@dataclass(frozen=True)
class ContactResult:
    """An owner email and where it came from, or the reason there is none."""

    email: str | None
    source: str | None = None
    reason: str | None = None


class ContactFinder(Protocol):
    name: str

    async def find_contact(
        self, business: FoundBusiness, target: IdentificationTarget
    ) -> ContactResult:
        """The owner email of a found business, or why none; ProviderError on failure."""
        ...


class SiteBuilder(Protocol):
    name: str

    async def build(self, business: PipelineBusiness, uuid: str) -> BuiltSite:
        """Render the business's site; raise ProviderError on failure."""
        ...


class Deployer(Protocol):
    name: str

    async def deploy(self, site: BuiltSite) -> str:
        """Publish the site and return its public URL; raise ProviderError on failure."""
        ...

    async def remove(self, uuid: str) -> None:
        """Take a site down again (a claim was lost after deploying); safe when absent."""
        ...
