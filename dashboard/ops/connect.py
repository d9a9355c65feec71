"""Where the ops commands find the database: `--database-url`, `DATABASE_URL`, or the
embedded server in `DATA_DIR` (started for the command and released after it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dashboard.runtime import Mode, resolve_database_url
from dashboard.settings import load_settings


@contextmanager
def database(database_url: str | None) -> Iterator[tuple[Mode, str]]:
    """(mode, url) for one command; an embedded server it started is released at the end.

    The embedded server counts its handles, so a server the app is running stays up.
    """
    settings = load_settings(database_url=database_url) if database_url else load_settings()
    mode, url, server = resolve_database_url(settings)
    try:
        yield mode, url
    finally:
        if server is not None:
            server.cleanup()
