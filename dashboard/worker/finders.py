"""The deterministic demo business finder: plausible local businesses per city x category.

The same target always yields the same businesses (seeded by the target's city,
region and category), so a re-run finds the same place ids and de-duplication can
be seen at work. About one business in four has a website and is skipped by the
worker. Phone numbers use the 555-01xx range, reserved for fiction.
"""

from __future__ import annotations

import hashlib
import random

from dashboard.data.models import IdentificationTarget
from dashboard.worker.ports import FoundBusiness

SURNAMES = (
    "Abbott", "Bianchi", "Carter", "Delgado", "Evans", "Fischer", "Garcia", "Hughes",
    "Ivanova", "Jensen", "Kowalski", "Lopez", "Murphy", "Nguyen", "O'Brien", "Patel",
    "Quinn", "Rossi", "Schmidt", "Torres", "Underwood", "Vasquez", "Walsh", "Young",
)  # fmt: skip
ADJECTIVES = (
    "Reliable", "Main Street", "Golden", "Family", "Corner", "Riverside", "Premier",
    "Friendly", "Hometown", "Village", "Northside", "Liberty",
)  # fmt: skip
STREETS = ("Main", "Oak", "Maple", "Church", "Market", "Park", "Union", "Elm", "Valley")
SUFFIXES = ("St", "Ave", "Rd", "Blvd", "Ln")
PATTERNS = (
    "{surname}'s {noun}",
    "{adjective} {noun}",
    "{city} {noun}",
    "{surname} & Sons {noun}",
    "{surname} {noun} Co.",
    "The {adjective} {noun}",
)
WEBSITE_SHARE = 0.25


def _noun(category: str) -> str:
    return " ".join(word.capitalize() for word in category.replace("_", " ").split())


class DemoFinder:
    """Plausible, repeatable businesses for any target; never fails."""

    name = "demo_finder"

    def __init__(self, *, min_results: int = 6, max_results: int = 12) -> None:
        self.min_results = min_results
        self.max_results = max_results

    async def find(self, target: IdentificationTarget) -> list[FoundBusiness]:
        key = f"{target.city}|{target.region}|{target.category}"
        seed = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
        rng = random.Random(seed)
        count = rng.randint(self.min_results, self.max_results)
        out: list[FoundBusiness] = []
        names: set[str] = set()
        for index in range(count):
            name = self._name(rng, target)
            if name in names:
                name = f"{name} {index + 1}"
            names.add(name)
            digest = hashlib.sha256(f"{key}|{index}".encode()).hexdigest()[:20]
            has_site = rng.random() < WEBSITE_SHARE
            slug = "".join(c for c in name.lower() if c.isalnum())[:30]
            out.append(
                FoundBusiness(
                    place_id=f"demo-{digest}",
                    name=name,
                    address=f"{rng.randint(1, 999)} {rng.choice(STREETS)} {rng.choice(SUFFIXES)},"
                    f" {target.city}, {target.region}",
                    phone=f"({rng.randint(201, 989)}) 555-01{rng.randint(0, 99):02d}",
                    website=f"https://{slug}.example.com" if has_site else None,
                    rating=round(rng.uniform(3.2, 5.0), 1),
                    review_count=rng.randint(0, 240),
                )
            )
        return out

    @staticmethod
    def _name(rng: random.Random, target: IdentificationTarget) -> str:
        return rng.choice(PATTERNS).format(
            surname=rng.choice(SURNAMES),
            adjective=rng.choice(ADJECTIVES),
            city=target.city,
            noun=_noun(target.category),
        )
