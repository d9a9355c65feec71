"""The generated sites' own origin: any instance serves any site (they live in the
database), and with SITES_BASE_URL the sites host serves only sites while the admin
host never does."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from dashboard.api.site_host import host_key, origin_key
from dashboard.runtime import close_runtime, open_runtime
from dashboard.settings import load_settings
from tests import e2e_support as e2e
from tests.dbutil import sql
from tests.factories import seed_queued
from tests.worker_support import spawn_worker

SITES = "http://localhost:8131"
ADMIN = "http://127.0.0.1:8131"


def test_a_site_deployed_by_one_process_is_served_by_another(
    app_db_url: str, tmp_path: Path
) -> None:
    seed_queued(app_db_url, 1, prefix="elsewhere")
    worker_dir = tmp_path / "worker-machine"
    worker_dir.mkdir()
    worker = spawn_worker(app_db_url, worker_dir, "w-far", "--process", "implementation", "--once")
    try:
        _, err = worker.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        worker.kill()
        raise
    assert worker.returncode == 0, err.decode()
    uuid = sql(app_db_url, "select uuid from public.qualified_businesses")[0]["uuid"]
    server = e2e.start_app(app_db_url, tmp_path, "app-machine")
    try:
        page = httpx.get(f"{server.base}/sites/{uuid}/", timeout=10)
        css = httpx.get(f"{server.base}/sites/{uuid}/site.css", timeout=10)
    finally:
        server.proc.stop()
    assert page.status_code == 200, page.text
    assert "Business 1" in page.text and "Claim this site" in page.text
    assert css.status_code == 200
    assert not (tmp_path / "app-machine" / "sites").exists()  # never a folder of its own


@pytest.fixture
async def split_client(app_db_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    from dashboard.app import create_app

    settings = load_settings(
        database_url=app_db_url,
        data_dir=tmp_path,
        secret_key="k" * 40,
        public_base_url=ADMIN,
        sites_base_url=SITES,
    )
    await open_runtime(settings, run_migrations=False)
    app = create_app(settings, with_ui=False)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url=ADMIN) as client:
            yield client
    finally:
        await close_runtime()


def deployed_uuid(url: str) -> str:
    sql(
        url,
        "insert into public.pipeline_businesses (place_id, name, category, city, region, status)"
        " values ('split-1', 'Split Bakery', 'bakery', 'Clifton', 'NJ', 'deployed')",
    )
    sql(
        url,
        "insert into public.qualified_businesses (uuid, pipeline_business_id, place_id, name,"
        " category, city, region, preview_url) select 'split123', id, place_id, name,"
        " category, city, region, 'x' from public.pipeline_businesses",
    )
    sql(
        url,
        "insert into admin_private.site_files (uuid, name, content, content_type, etag)"
        " values ('split123', 'index.html', '<p>hi</p>', 'text/html', repeat('a', 64))",
    )
    return "split123"


async def test_the_sites_host_serves_sites_and_nothing_of_the_admin(
    split_client: httpx.AsyncClient, app_db_url: str
) -> None:
    uuid = deployed_uuid(app_db_url)
    on_sites = {"Host": "localhost:8131"}
    assert (await split_client.get(f"/sites/{uuid}/", headers=on_sites)).status_code == 200
    for path in ("/admin", "/admin/login", "/api/outreach/start-campaign", "/", "/docs"):
        assert (await split_client.get(path, headers=on_sites)).status_code == 404, path
    assert (await split_client.get("/healthz", headers=on_sites)).status_code != 404


async def test_the_admin_host_does_not_serve_sites(
    split_client: httpx.AsyncClient, app_db_url: str
) -> None:
    uuid = deployed_uuid(app_db_url)
    for path in (f"/sites/{uuid}/", f"/sites/{uuid}/site.css", f"/claim/{uuid}"):
        response = await split_client.get(path, headers={"Host": "127.0.0.1:8131"})
        assert response.status_code == 404, path
    assert (await split_client.get("/healthz")).status_code != 404


def test_hosts_compare_without_default_ports_and_case() -> None:
    assert origin_key("https://Sites.Example.com/") == "sites.example.com"
    assert origin_key("http://localhost:8131") == "localhost:8131"
    assert host_key("sites.example.com:443") == "sites.example.com"
    assert host_key("LOCALHOST:8131") == "localhost:8131"
