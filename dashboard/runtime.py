"""The process-wide runtime: settings, the database, and the services built on it.

`open_runtime()` resolves where the database is (embedded, `DATABASE_URL`, or a
Supabase project), migrates it, and opens the pool; pages, routes and the worker
reach everything through `get_runtime()`, never through module globals of their own.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Literal

from dashboard.backends.base import Backend
from dashboard.backends.embedded import start_embedded
from dashboard.backends.migrate import migrate
from dashboard.backends.postgres import PostgresBackend
from dashboard.settings import Settings, SettingsError

Mode = Literal["embedded", "url", "supabase"]


@dataclass
class Runtime:
    settings: Settings
    mode: Mode
    database_url: str
    #: PostgREST-semantics access and the owner door to private schemas.
    db: PostgresBackend
    #: What data functions use: `db` locally, the Supabase adapter in Supabase mode.
    api: Backend
    embedded_server: Any = None
    #: Services that other parts attach at start-up (auth provider, live bus, ...).
    services: dict[str, Any] = field(default_factory=dict)


_current: Runtime | None = None


def get_runtime() -> Runtime:
    if _current is None:
        raise RuntimeError("the runtime is not open: call open_runtime() at start-up")
    return _current


def set_runtime(runtime: Runtime | None) -> None:
    global _current
    _current = runtime


def resolve_database_url(settings: Settings) -> tuple[Mode, str, Any]:
    """Where the database is: DATABASE_URL if set, else the embedded server in DATA_DIR."""
    if settings.database_url:
        return ("supabase" if settings.supabase_mode else "url"), settings.database_url, None
    if settings.supabase_mode:
        raise SettingsError(
            "SUPABASE_URL is set but DATABASE_URL is not: give the project's connection string"
            " (Project Settings > Database) so migrations and the private auth schema work"
        )
    url, server = start_embedded(settings.data_dir)
    return "embedded", url, server


async def open_runtime(settings: Settings, *, run_migrations: bool = True) -> Runtime:
    mode, url, server = await asyncio.to_thread(resolve_database_url, settings)
    if run_migrations:
        await asyncio.to_thread(migrate, url)
    db = await PostgresBackend(url, max_size=settings.pool_max_size).open()
    api: Backend = db
    if mode == "supabase":
        from dashboard.backends.supabase import SupabaseBackend

        api = await SupabaseBackend.connect(settings)
    runtime = Runtime(
        settings=settings, mode=mode, database_url=url, db=db, api=api, embedded_server=server
    )
    set_runtime(runtime)
    return runtime


async def close_runtime() -> None:
    runtime = _current
    if runtime is None:
        return
    provider = runtime.services.get("auth_provider")
    if provider is not None:
        await provider.close()
    if runtime.api is not runtime.db:
        await runtime.api.close()
    await runtime.db.close()
    if runtime.embedded_server is not None:
        await asyncio.to_thread(runtime.embedded_server.cleanup)
    set_runtime(None)
