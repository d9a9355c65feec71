"""Shared fixtures: real PostgreSQL servers (embedded always; the machine's when
TEST_DATABASE_URL is set), fresh migrated databases, a backend per test, the app's
runtime for User-fixture tests (`app_runtime`, opt-in), a signed-in admin (`admin`)
and the money/route harness (`money`).

Fixtures live here (or in a subfolder's conftest.py), never in a test module: a test
asks for one by name and pytest finds it."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from nicegui.testing import User

from dashboard.backends.embedded import start_embedded
from dashboard.backends.postgres import PostgresBackend
from dashboard.outreach import SERVICE_KEY
from dashboard.runtime import Runtime, close_runtime, open_runtime
from dashboard.settings import load_settings
from tests.admin_session import SignedIn, sign_in_admin
from tests.auth_helpers import SECRET_KEY
from tests.dbutil import create_migrated_database, drop_database, reset_database
from tests.routes_support import (
    INTERNAL,
    SMARTLEAD_SECRET,
    TRIGGER,
    WHSEC,
    FakeProvider,
    Money,
    app,
)

SERVERS = ["embedded"] + (["external"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(scope="session")
def embedded_admin_url() -> Iterator[str]:
    """An embedded PostgreSQL in a short temporary folder, stopped at the end."""
    folder = Path(tempfile.mkdtemp(prefix="cspg"))
    folder.chmod(0o755)
    url, server = start_embedded(folder)
    yield url
    server.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def admin_url_for(embedded_admin_url: str) -> dict[str, str]:
    urls = {"embedded": embedded_admin_url}
    if os.environ.get("TEST_DATABASE_URL"):
        urls["external"] = os.environ["TEST_DATABASE_URL"]
    return urls


@pytest.fixture(scope="session", params=SERVERS)
def database_url(request: pytest.FixtureRequest, admin_url_for: dict[str, str]) -> Iterator[str]:
    """A migrated database on each server under test (session-wide; see `db_url`)."""
    admin_url = admin_url_for[request.param]
    url = create_migrated_database(admin_url)
    yield url
    drop_database(admin_url, url)


@pytest.fixture(params=SERVERS)
def new_database_url(
    request: pytest.FixtureRequest, admin_url_for: dict[str, str]
) -> Iterator[str]:
    """A migrated database made for this test alone, on each server under test: its
    tables as a new deployment has them (never analyzed)."""
    admin_url = admin_url_for[request.param]
    url = create_migrated_database(admin_url)
    yield url
    drop_database(admin_url, url)


@pytest.fixture(scope="session")
def app_database_url(embedded_admin_url: str) -> Iterator[str]:
    """A migrated database on the embedded server, for app, UI and worker tests."""
    url = create_migrated_database(embedded_admin_url)
    yield url
    drop_database(embedded_admin_url, url)


@pytest.fixture
def db_url(database_url: str) -> str:
    """The per-server database, emptied before the test."""
    reset_database(database_url)
    return database_url


@pytest.fixture
def app_db_url(app_database_url: str) -> str:
    reset_database(app_database_url)
    return app_database_url


@pytest.fixture
async def backend(db_url: str) -> AsyncIterator[PostgresBackend]:
    be = await PostgresBackend(db_url, max_size=20).open()
    yield be
    await be.close()


@pytest.fixture
async def app_runtime(app_db_url: str) -> AsyncIterator[Runtime]:
    """The app's runtime on the test database, open before the User fixture's first
    request and closed after it. A module of User-fixture tests opts in for every test
    with `pytestmark = pytest.mark.usefixtures("app_runtime")`."""
    settings = load_settings(database_url=app_db_url, secret_key=SECRET_KEY)
    runtime = await open_runtime(settings, run_migrations=False)
    yield runtime
    await close_runtime()


@pytest.fixture
async def admin(user: User, app_runtime: Runtime) -> SignedIn:
    """The User fixture's browser signed in as an AAL2 admin."""
    signed_in = await sign_in_admin(app_runtime)
    user.http_client.cookies.set("cs_session", signed_in.token)
    return signed_in


@pytest.fixture
async def money(app_db_url: str, tmp_path: Path) -> AsyncIterator[Money]:
    """The runtime on a fresh database with a recording outreach provider, and an
    httpx client on the real app (payments, outreach and route tests)."""
    settings = load_settings(
        database_url=app_db_url,
        data_dir=tmp_path,
        secret_key="k" * 40,
        stripe_webhook_secret=WHSEC,
        smartlead_webhook_secret=SMARTLEAD_SECRET,
        internal_api_secret=INTERNAL,
        outreach_trigger_secret=TRIGGER,
        pool_max_size=10,
    )
    runtime = await open_runtime(settings, run_migrations=False)
    provider = FakeProvider()
    runtime.services[SERVICE_KEY] = provider
    transport = httpx.ASGITransport(app=app())
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Money(client, runtime, provider)
    finally:
        await close_runtime()
