"""The contact step: an owner email for every business the finder found, or the reason.

It runs in identification, after de-duplication and before the businesses are queued
(`identification.identify`): the outreach trigger fires the moment a site is deployed,
so the email must be on the row before that, and the site shows it too. Only new
businesses without a website are looked up, so no lookup is spent on a business we
will not build.

Providers, tried in order until one gives an address that passes `check_email`:
`SourceEmail` (the finder's own data), then either `HunterContactFinder`
(HUNTER_API_KEY set) or `DemoContactFinder`. A provider error or an invalid address is
not fatal: the business is still queued, with the reasons in `email_missing_reason`,
and an admin can add the email by hand or by CSV import later.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence

from dashboard.contacts.email_check import InvalidEmail, check_email
from dashboard.data.models import IdentificationTarget
from dashboard.worker.ports import ContactFinder, ContactResult, FoundBusiness, ProviderError

DEMO_EMAIL_SHARE = 0.9
DEMO_MAILBOXES = ("owner", "hello", "info", "contact", "office")
DEMO_NO_EMAIL = (
    "demo: no public email is listed for this business",
    "demo: the only address found bounced in an earlier campaign",
    "demo: the listing gives a phone number only",
)
#: At most this many lookups run at once for one target (Hunter allows 15 requests/s).
CONCURRENCY = 4


def _slug(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum())[:30] or "business"


class SourceEmail:
    """The address the finder's source itself listed, if any."""

    name = "source_email"

    async def find_contact(
        self, business: FoundBusiness, target: IdentificationTarget
    ) -> ContactResult:
        if business.email:
            return ContactResult(business.email, "finder")
        return ContactResult(None, reason="the source listing has no email")


class DemoContactFinder:
    """Plausible addresses for nine businesses in ten; the same place id, the same answer."""

    name = "demo_contacts"

    async def find_contact(
        self, business: FoundBusiness, target: IdentificationTarget
    ) -> ContactResult:
        digest = hashlib.sha256(f"contact|{business.place_id}".encode()).digest()
        if digest[0] / 256 >= DEMO_EMAIL_SHARE:
            return ContactResult(None, reason=DEMO_NO_EMAIL[digest[1] % len(DEMO_NO_EMAIL)])
        mailbox = DEMO_MAILBOXES[digest[2] % len(DEMO_MAILBOXES)]
        return ContactResult(f"{mailbox}@{_slug(business.name)}.example.com", "demo")


class ContactChain:
    """Asks each finder in turn; the first valid address wins, else every reason is kept."""

    name = "contacts"

    def __init__(self, finders: Sequence[ContactFinder]) -> None:
        self.finders = list(finders)

    async def find_contact(
        self, business: FoundBusiness, target: IdentificationTarget
    ) -> ContactResult:
        reasons: list[str] = []
        for finder in self.finders:
            try:
                found = await finder.find_contact(business, target)
            except ProviderError as exc:
                reasons.append(f"lookup failed: {exc}")
                continue
            if found.email is None:
                reasons.append(found.reason or f"{finder.name} found none")
                continue
            try:
                checked = check_email(found.email)
            except InvalidEmail as exc:
                reasons.append(f"{found.source or finder.name} gave an unusable address: {exc}")
                continue
            return ContactResult(checked.address, found.source or finder.name)
        return ContactResult(None, reason="; ".join(reasons)[:500] or "no contact finder")

    async def find_all(
        self, businesses: Sequence[FoundBusiness], target: IdentificationTarget
    ) -> list[ContactResult]:
        """One result per business, in order, a few lookups at a time."""
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(business: FoundBusiness) -> ContactResult:
            async with gate:
                return await self.find_contact(business, target)

        return list(await asyncio.gather(*(one(b) for b in businesses)))
