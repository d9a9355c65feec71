"""Static sites: the Jinja2 site builder and the local deployer.

The builder renders `index.html` and `site.css` for one business, every field
autoescaped. The "claim this site" banner sits between `BANNER_START` and
`BANNER_END` markers; the app removes it at serve time once the business is
claimed (`dashboard/api/sites.py`), so a payment needs no rebuild. The markers
cannot be forged by a business name: `<` is always escaped.

The database deployer stores the files in `admin_private.site_files` (all of a
site's files replaced in one transaction, so a half-written site is never served),
and the site is live at once at `<base_url>/sites/<uuid>/` on every app instance.
"""

from __future__ import annotations

import asyncio
import random
import re
import secrets
import string
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from dashboard.backends.base import BackendError
from dashboard.backends.postgres import PostgresBackend
from dashboard.data.models import PipelineBusiness
from dashboard.data.sites import remove_site, save_site
from dashboard.worker.ports import BuiltSite, ProviderError

BANNER_START = "<!-- claim-banner -->"
BANNER_END = "<!-- /claim-banner -->"
UUID_PATTERN = re.compile(r"^[a-z0-9]{8}$")
ASSET_PATTERN = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.(html|css|js|png|jpg|jpeg|svg|webp|ico)$"
)
DEFAULT_CLAIM_URL = "mailto:hello@cliftonsites.com?subject=Claim%20my%20site%20{uuid}"
_ALPHABET = string.ascii_lowercase + string.digits

_env = Environment(
    loader=PackageLoader("dashboard.worker", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def new_site_uuid() -> str:
    """A fresh 8-character public id (lowercase letters and digits)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(8))


def remove_banner(html: str) -> str:
    """The page without its claim banner (shown once the business has paid)."""
    start = html.find(BANNER_START)
    end = html.find(BANNER_END)
    if start < 0 or end < start:
        return html
    return html[:start] + html[end + len(BANNER_END) :]


def map_url(business: PipelineBusiness) -> str:
    query = ", ".join(p for p in (business.name, business.address or business.city) if p)
    params = {"api": "1", "query": query}
    if not business.place_id.startswith("demo-"):
        params["query_place_id"] = business.place_id
    return "https://www.google.com/maps/search/?" + urlencode(params, quote_via=quote)


class JinjaSiteBuilder:
    """Renders a one-page site per business.

    `failure_rate` and `delay_seconds` simulate a flaky, slow builder for the demo
    (and for tests that need to kill a worker mid-item); both are 0 in production.
    """

    name = "site_builder"

    def __init__(
        self,
        *,
        claim_url_template: str = DEFAULT_CLAIM_URL,
        failure_rate: float = 0.0,
        delay_seconds: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        if not 0.0 <= failure_rate <= 1.0:
            raise ValueError("failure_rate must be between 0 and 1")
        self.claim_url_template = claim_url_template
        self.failure_rate = failure_rate
        self.delay_seconds = delay_seconds
        self.rng = rng or random.Random()

    async def build(self, business: PipelineBusiness, uuid: str) -> BuiltSite:
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        if self.failure_rate and self.rng.random() < self.failure_rate:
            raise ProviderError(self.name, "simulated build failure (demo failure rate)")
        html = render_site(business, uuid, claim_url=self.claim_url_template.format(uuid=uuid))
        return BuiltSite(
            uuid=uuid, files={"index.html": html.encode(), "site.css": site_css().encode()}
        )


def site_css() -> str:
    """Every site's stylesheet (the same file for all)."""
    return str(_env.loader.get_source(_env, "site.css")[0])  # type: ignore[union-attr]


def render_site(business: PipelineBusiness, uuid: str, *, claim_url: str) -> str:
    phone = business.phone or None
    return _env.get_template("site.html.j2").render(
        uuid=uuid,
        name=business.name,
        category_label=business.category.replace("_", " ").strip().capitalize(),
        city=business.city,
        region=business.region,
        address=business.address,
        phone=phone,
        phone_digits="".join(c for c in phone if c.isdigit() or c == "+") if phone else "",
        email=business.email,
        rating=business.rating,
        review_count=business.review_count,
        map_url=map_url(business),
        claim_url=claim_url,
        year=datetime.now(UTC).year,
    )


class DatabaseDeployer:
    """Stores sites in `admin_private.site_files`; every app instance serves them at
    `<base_url>/sites/<uuid>/` (base_url: SITES_BASE_URL, else the app's own address)."""

    name = "site_deployer"

    def __init__(self, db: PostgresBackend, base_url: str) -> None:
        self.db = db
        self.base_url = base_url.rstrip("/")

    def url_for(self, uuid: str) -> str:
        return f"{self.base_url}/sites/{uuid}/"

    async def deploy(self, site: BuiltSite) -> str:
        if not UUID_PATTERN.match(site.uuid):
            raise ProviderError(self.name, f"refusing a site id {site.uuid!r}", retryable=False)
        bad = [n for n in site.files if not ASSET_PATTERN.match(n)]
        if bad or not site.files:
            raise ProviderError(self.name, f"refusing file names {bad!r}", retryable=False)
        try:
            await save_site(self.db, site.uuid, site.files)
        except BackendError as exc:
            raise ProviderError(self.name, f"cannot store the site: {exc}") from exc
        return self.url_for(site.uuid)

    async def remove(self, uuid: str) -> None:
        if UUID_PATTERN.match(uuid):
            await remove_site(self.db, uuid)
