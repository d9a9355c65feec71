"""The site builder's output, and the `/sites/<uuid>/` route that serves it."""

from __future__ import annotations

from pathlib import Path

import html5lib
import httpx
import pytest
from fastapi import FastAPI

from dashboard.api import sites as sites_route
from dashboard.backends.postgres import PostgresBackend
from dashboard.data.automation import get_automation_config
from dashboard.data.models import PipelineBusiness
from dashboard.data.payments import mark_business_claimed
from dashboard.runtime import close_runtime, open_runtime
from dashboard.settings import load_settings
from dashboard.worker.implementation import implementation_step
from dashboard.worker.loop import ProcessLoop
from dashboard.worker.ports import BuiltSite, ProviderError
from dashboard.worker.sites import DatabaseDeployer, JinjaSiteBuilder, remove_banner
from tests.dbutil import sql
from tests.factories import business_model, seed_queued
from tests.worker_support import make_ctx

NASTY = '<script>alert("x")</script> & Sons\'s "Best"'


async def render(b: PipelineBusiness) -> str:
    site = await JinjaSiteBuilder(claim_url_template="https://pay.example/?ref={uuid}").build(
        b, "abcd1234"
    )
    return site.files["index.html"].decode()


def parse_strict(html: str) -> None:
    html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(html)


async def test_the_site_is_valid_html5_with_every_field() -> None:
    html = await render(business_model())
    parse_strict(html)
    for text in ("Rossi Plumbing", "Clifton, NJ", "(973) 555-0100", "tel:9735550100",
                 "1 Main St", "google.com/maps/search", "query_place_id=ChIJabc",
                 "https://pay.example/?ref=abcd1234", "Claim this site"):  # fmt: skip
        assert text in html


async def test_every_field_is_escaped() -> None:
    html = await render(
        business_model(
            name=NASTY,
            category=NASTY,
            city=NASTY,
            region=NASTY,
            address=NASTY,
            phone=NASTY,
            email=NASTY,
        )
    )
    parse_strict(html)
    assert "<script>" not in html
    assert '"Best"' not in html
    assert "&lt;script&gt;" in html
    assert html.count("<!-- claim-banner -->") == 1


async def test_a_missing_phone_and_rating_leave_a_valid_page() -> None:
    html = await render(business_model(phone=None, rating=None, review_count=None, email=None))
    parse_strict(html)
    assert "tel:" not in html


async def test_the_banner_can_be_removed_and_the_page_stays_valid() -> None:
    html = remove_banner(await render(business_model()))
    parse_strict(html)
    assert "Claim this site" not in html


@pytest.fixture
async def site_app(app_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", app_db_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    runtime = await open_runtime(load_settings(), run_migrations=False)
    app = FastAPI()
    app.include_router(sites_route.router)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    yield client, runtime.db
    await client.aclose()
    await close_runtime()


async def deploy_one(url: str, backend: PostgresBackend) -> str:
    seed_queued(url, 1, prefix="site")
    ctx = make_ctx(backend)
    loop = ProcessLoop(ctx, "implementation", implementation_step)
    config = await get_automation_config(backend)
    assert await implementation_step(loop, config) == "done"
    return str(sql(url, "select uuid from public.qualified_businesses")[0]["uuid"])


async def test_a_deployed_site_is_served_and_loses_its_banner_once_claimed(
    site_app: tuple[httpx.AsyncClient, PostgresBackend], app_db_url: str
) -> None:
    client, backend = site_app
    uuid = await deploy_one(app_db_url, backend)
    page = await client.get(f"/sites/{uuid}/")
    assert page.status_code == 200
    assert "Claim this site" in page.text
    parse_strict(page.text)
    css = await client.get(f"/sites/{uuid}/site.css")
    assert css.status_code == 200 and "claim-banner" in css.text
    assert css.headers["content-type"].startswith("text/css")
    await mark_business_claimed(backend, uuid, "pi_test_1", "owner@example.com")
    page = await client.get(f"/sites/{uuid}/")
    assert page.status_code == 200
    assert "Claim this site" not in page.text
    assert "Claim this site" not in (await client.get(f"/sites/{uuid}/index.html")).text
    redirect = await client.get(f"/sites/{uuid}")
    assert redirect.status_code == 308


async def test_pages_and_assets_carry_etags_and_caching_and_a_match_is_304(
    site_app: tuple[httpx.AsyncClient, PostgresBackend], app_db_url: str
) -> None:
    client, backend = site_app
    uuid = await deploy_one(app_db_url, backend)
    page = await client.get(f"/sites/{uuid}/")
    css = await client.get(f"/sites/{uuid}/site.css")
    assert page.headers["cache-control"] == "no-cache"
    assert css.headers["cache-control"] == "public, max-age=3600"
    for response, path in ((page, f"/sites/{uuid}/"), (css, f"/sites/{uuid}/site.css")):
        etag = response.headers["etag"]
        again = await client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag
    # the page's tag follows the claim (its banner goes), so a cached copy is not reused
    await mark_business_claimed(backend, uuid, "pi_test_2", "owner@example.com")
    after = await client.get(f"/sites/{uuid}/", headers={"If-None-Match": page.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != page.headers["etag"]


async def test_sites_run_no_script_and_cannot_be_framed(
    site_app: tuple[httpx.AsyncClient, PostgresBackend], app_db_url: str
) -> None:
    client, backend = site_app
    uuid = await deploy_one(app_db_url, backend)
    for path in (f"/sites/{uuid}/", f"/sites/{uuid}/site.css"):
        csp = (await client.get(path)).headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "script-src" not in csp  # default-src 'none' forbids every script
    assert (await client.get(f"/sites/{uuid}/")).headers["x-content-type-options"] == "nosniff"


async def test_a_redeploy_replaces_the_whole_site_at_once(
    site_app: tuple[httpx.AsyncClient, PostgresBackend], app_db_url: str
) -> None:
    client, backend = site_app
    uuid = await deploy_one(app_db_url, backend)
    deployer = DatabaseDeployer(backend, "http://sites.test")
    await deployer.deploy(BuiltSite(uuid, {"index.html": b"<p>new</p>", "logo.png": b"png"}))
    assert (await client.get(f"/sites/{uuid}/")).text == "<p>new</p>"
    assert (await client.get(f"/sites/{uuid}/site.css")).status_code == 404  # the old file
    assert (await client.get(f"/sites/{uuid}/logo.png")).headers["content-type"] == "image/png"
    # a deploy that fails half-way (a file the table refuses) leaves the previous site whole
    with pytest.raises(ProviderError):
        await deployer.deploy(BuiltSite(uuid, {"index.html": b"x", "big.png": b"0" * 6_000_000}))
    assert (await client.get(f"/sites/{uuid}/")).text == "<p>new</p>"
    assert (await client.get(f"/sites/{uuid}/logo.png")).status_code == 200


async def test_bad_ids_unknown_sites_and_odd_names_are_404(
    site_app: tuple[httpx.AsyncClient, PostgresBackend], app_db_url: str
) -> None:
    client, backend = site_app
    uuid = await deploy_one(app_db_url, backend)
    for path in (
        "/sites/zzzz9999/",  # well formed, never deployed
        "/sites/ABCD1234/",
        "/sites/..%2F..%2Fetc/",
        f"/sites/{uuid}/..%2F..%2Fsecrets.env",
        f"/sites/{uuid}/.hidden.css",
        f"/sites/{uuid}/missing.css",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path


async def test_a_suspended_site_answers_410(
    site_app: tuple[httpx.AsyncClient, PostgresBackend], app_db_url: str
) -> None:
    client, backend = site_app
    uuid = await deploy_one(app_db_url, backend)
    sql(app_db_url, "update public.qualified_businesses set site_status = 'suspended'")
    assert (await client.get(f"/sites/{uuid}/")).status_code == 410


async def test_the_deployer_refuses_a_malformed_id_or_file_name(backend: PostgresBackend) -> None:
    deployer = DatabaseDeployer(backend, "http://x")
    with pytest.raises(ProviderError):
        await deployer.deploy(BuiltSite(uuid="../evil", files={"index.html": b"x"}))
    with pytest.raises(ProviderError):
        await deployer.deploy(BuiltSite(uuid="abcd1234", files={"../x.html": b"x"}))
