"""Vocabulary for the demo seed: plausible US local businesses (the rows are built from
it in `rows.py`).

Everything here is pure and driven by one `random.Random`, so a given `--seed` gives
the same names, statuses and uuids every time; only timestamps move with the clock.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

CITIES: tuple[tuple[str, str, str], ...] = (
    # (city, region, area code)
    ("Austin", "TX", "512"), ("Dallas", "TX", "214"), ("Houston", "TX", "713"),
    ("San Antonio", "TX", "210"), ("Phoenix", "AZ", "602"), ("Tucson", "AZ", "520"),
    ("Denver", "CO", "303"), ("Boulder", "CO", "303"), ("Salt Lake City", "UT", "801"),
    ("Boise", "ID", "208"), ("Portland", "OR", "503"), ("Seattle", "WA", "206"),
    ("Spokane", "WA", "509"), ("Sacramento", "CA", "916"), ("Fresno", "CA", "559"),
    ("San Diego", "CA", "619"), ("Las Vegas", "NV", "702"), ("Reno", "NV", "775"),
    ("Albuquerque", "NM", "505"), ("Omaha", "NE", "402"), ("Kansas City", "MO", "816"),
    ("St. Louis", "MO", "314"), ("Tulsa", "OK", "918"), ("Oklahoma City", "OK", "405"),
    ("Minneapolis", "MN", "612"), ("Madison", "WI", "608"), ("Milwaukee", "WI", "414"),
    ("Chicago", "IL", "312"), ("Indianapolis", "IN", "317"), ("Columbus", "OH", "614"),
    ("Cleveland", "OH", "216"), ("Cincinnati", "OH", "513"), ("Detroit", "MI", "313"),
    ("Grand Rapids", "MI", "616"), ("Pittsburgh", "PA", "412"), ("Philadelphia", "PA", "215"),
    ("Baltimore", "MD", "410"), ("Richmond", "VA", "804"), ("Raleigh", "NC", "919"),
    ("Charlotte", "NC", "704"), ("Nashville", "TN", "615"), ("Memphis", "TN", "901"),
    ("Atlanta", "GA", "404"), ("Savannah", "GA", "912"), ("Jacksonville", "FL", "904"),
    ("Orlando", "FL", "407"), ("Tampa", "FL", "813"), ("Birmingham", "AL", "205"),
    ("New Orleans", "LA", "504"), ("Louisville", "KY", "502"),
)  # fmt: skip

CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    # (category, nouns a business of that kind calls itself)
    ("plumber", ("Plumbing", "Plumbing & Drain", "Pipe Works")),
    ("electrician", ("Electric", "Electrical Services", "Wiring Co.")),
    ("roofer", ("Roofing", "Roof Repair", "Roofing & Gutters")),
    ("landscaper", ("Landscaping", "Lawn & Garden", "Yard Care")),
    ("house cleaner", ("Cleaning", "Maid Service", "Home Cleaning")),
    ("auto repair", ("Auto Repair", "Garage", "Auto Service")),
    ("bakery", ("Bakery", "Bake Shop", "Breads")),
    ("barber", ("Barbershop", "Barbers", "Cuts")),
    ("hair salon", ("Salon", "Hair Studio", "Beauty Bar")),
    ("nail salon", ("Nails", "Nail Spa", "Nail Studio")),
    ("florist", ("Flowers", "Florist", "Floral Design")),
    ("dog groomer", ("Pet Grooming", "Dog Spa", "Grooming")),
    ("painter", ("Painting", "Painters", "Paint Co.")),
    ("locksmith", ("Locksmith", "Lock & Key", "Security Locks")),
    ("hvac", ("Heating & Air", "HVAC", "Comfort Systems")),
    ("tailor", ("Tailoring", "Alterations", "Tailors")),
    ("carpet cleaner", ("Carpet Care", "Carpet Cleaning", "Rug Cleaners")),
    ("handyman", ("Handyman", "Home Repair", "Fix-It")),
    ("moving company", ("Movers", "Moving", "Relocation")),
    ("pest control", ("Pest Control", "Exterminators", "Bug Busters")),
    ("taqueria", ("Taqueria", "Tacos", "Cocina")),
    ("coffee shop", ("Coffee", "Espresso Bar", "Roasters")),
    ("tattoo studio", ("Tattoo", "Ink", "Tattoo Parlor")),
    ("bike shop", ("Bikes", "Cycle Shop", "Bicycle Repair")),
    ("pool service", ("Pool Service", "Pool Care", "Pools")),
    ("photographer", ("Photography", "Photo Studio", "Portraits")),
    ("daycare", ("Daycare", "Child Care", "Learning Center")),
    ("fitness studio", ("Fitness", "Gym", "Training")),
    ("appliance repair", ("Appliance Repair", "Appliance Service", "Repairs")),
    ("upholsterer", ("Upholstery", "Furniture Repair", "Reupholstery")),
)

SURNAMES = (
    "Garcia", "Smith", "Johnson", "Nguyen", "Patel", "Rodriguez", "Kim", "Brown", "Lopez",
    "Miller", "Davis", "Martinez", "Wilson", "Anderson", "Thomas", "Hernandez", "Moore",
    "Taylor", "Jackson", "Lee", "Walker", "Young", "King", "Wright", "Scott", "Green",
    "Baker", "Adams", "Nelson", "Hill", "Ramirez", "Campbell", "Mitchell", "Roberts",
    "Carter", "Phillips", "Evans", "Turner", "Torres", "Parker", "Collins", "Edwards",
    "Stewart", "Flores", "Morris", "Murphy", "Rivera", "Cook", "Rogers", "Morgan", "Reyes",
    "Cruz", "Ortiz", "Gomez", "Chen", "Singh", "Okafor", "Kowalski", "Novak", "Schmidt",
)  # fmt: skip
FIRST_NAMES = (
    "Maria", "Jose", "Linh", "Raj", "Tony", "Angela", "Mike", "Carmen", "Dave", "Rosa",
    "Sam", "Kevin", "Lupe", "Hector", "Grace", "Omar", "Nina", "Luis", "Amy", "Frank",
)  # fmt: skip
ADJECTIVES = (
    "Blue Oak", "Lone Star", "Sunrise", "Golden", "Evergreen", "Riverside", "Northside",
    "Eastside", "Mesa", "Pioneer", "Summit", "Liberty", "Cedar", "Red Rock", "Maple",
    "Union", "Heritage", "Prairie", "Harbor", "Canyon", "Main Street", "Old Town",
)  # fmt: skip
STREETS = (
    "Main", "Oak", "Elm", "Maple", "Cedar", "Pine", "Washington", "Lincoln", "Park", "Lake",
    "Hill", "Jefferson", "Church", "Mill", "Spring", "Ridge", "Sunset", "Broadway", "Market",
)  # fmt: skip
SUFFIXES = ("St", "Ave", "Blvd", "Rd", "Dr", "Ln", "Way", "Pkwy")
FAILURES = (
    "site build failed: template render error (missing hours)",
    "deploy failed: upstream host returned 502",
    "deploy timed out after 120 s",
    "business finder returned no photos; build aborted",
    "site build failed: invalid phone number",
)
SKIPS = (
    "business already has a website",
    "permanently closed",
    "duplicate of another listing",
    "category not served",
)
OUTREACH_FAILURES = (
    "smartlead: 429 Too Many Requests",
    "smartlead: lead email rejected (invalid address)",
    "smartlead: campaign not found",
)
ACTIVATION_FAILURES = (
    "activate-site: hosting API returned 503",
    "activate-site: timed out after 30 s",
)
_ALNUM = string.ascii_lowercase + string.digits


def target_grid(count: int) -> list[tuple[str, str, str]]:
    """`count` (city, region, category) cells, interleaved so neighbours differ in city."""
    limit = len(CITIES) * len(CATEGORIES)
    if not 1 <= count <= limit:
        raise ValueError(f"--targets must be between 1 and {limit} (cities x categories)")
    cells = []
    for i in range(count):
        # round r of the cities pairs city c with category (r + c): every pair exactly once
        r, c = divmod(i, len(CITIES))
        city, region, _ = CITIES[c]
        category = CATEGORIES[(r + c) % len(CATEGORIES)][0]
        cells.append((city, region, category))
    return cells


def area_code(city: str) -> str:
    return next((code for name, _, code in CITIES if name == city), "555")


NOUNS = dict(CATEGORIES)


def business_name(rng: random.Random, category: str) -> str:
    noun = rng.choice(NOUNS.get(category, ("Services",)))
    style = rng.random()
    if style < 0.4:
        return f"{rng.choice(SURNAMES)} {noun}"
    if style < 0.7:
        return f"{rng.choice(ADJECTIVES)} {noun}"
    if style < 0.85:
        return f"{rng.choice(FIRST_NAMES)}'s {noun}"
    return f"{rng.choice(SURNAMES)} & {rng.choice(SURNAMES)} {noun}"


def phone(rng: random.Random, code: str) -> str:
    return f"({code}) {rng.randint(200, 989)}-{rng.randint(0, 9999):04d}"


def address(rng: random.Random, city: str, region: str) -> str:
    street = f"{rng.choice(STREETS)} {rng.choice(SUFFIXES)}"
    return f"{rng.randint(10, 9899)} {street}, {city}, {region}"


def email_for(rng: random.Random, name: str) -> str:
    slug = "".join(c for c in name.lower() if c.isalnum())[:20] or "info"
    return f"{rng.choice(('info', 'hello', 'contact', 'office'))}@{slug}.example"


def place_id(rng: random.Random, business_id: int) -> str:
    """Google-style place id; the id suffix makes it unique."""
    return "ChIJ" + "".join(rng.choices(_ALNUM + string.ascii_uppercase, k=14)) + f"{business_id:x}"


def short_uuid(rng: random.Random, taken: set[str]) -> str:
    while True:
        value = "".join(rng.choices(_ALNUM, k=8))
        if value not in taken:
            taken.add(value)
            return value


@dataclass(frozen=True)
class Mix:
    """How finished businesses split, and how deployed ones fare afterwards."""

    queued: float = 0.55  # share of all businesses still waiting (the newest ones)
    started: int = 6  # in flight right now; two of them stale
    deployed: float = 0.62  # of the finished ones
    failed: float = 0.18  # of the finished ones; the rest are skipped
    claimed: float = 0.07  # of the deployed ones
    outreach: tuple[tuple[str, float], ...] = (
        ("started", 0.70),
        ("replied", 0.08),
        ("bounced", 0.06),
        ("unsubscribed", 0.03),
        ("failed", 0.02),
        ("skipped", 0.02),
        ("stopped", 0.02),
    )  # the rest: `started`; only the few deployed in the last minutes are `pending`
    recent: int = 10  # finished in the last minutes, so outreach is still pending


def pick_outreach(rng: random.Random, mix: Mix) -> str:
    roll = rng.random()
    for status, share in mix.outreach:
        if roll < share:
            return status
        roll -= share
    return "started"


def spread(start: datetime, end: datetime, fraction: float) -> datetime:
    """A time between start and end; denser towards the end so charts grow."""
    offset: timedelta = (end - start) * (fraction**0.7)
    return start + offset


def minutes(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(minutes=rng.uniform(low, high))
