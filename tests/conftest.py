"""Shared fixtures: real PostgreSQL servers (embedded always; the machine's when
TEST_DATABASE_URL is set), fresh migrated databases, and a backend per test."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from dashboard.backends.embedded import start_embedded
from dashboard.backends.postgres import PostgresBackend
from tests.dbutil import create_migrated_database, drop_database, reset_database

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
