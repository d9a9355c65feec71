"""Builds the ASGI app: FastAPI owns `/api/*`, `/healthz` and `/sites/*`; NiceGUI is
mounted at `/admin`, so webhook calls never get a session cookie or user storage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from nicegui import ui
from nicegui.storage import Storage
from starlette.middleware.gzip import GZipMiddleware

from dashboard.api import (
    admin,
    claim,
    export,
    health,
    internal,
    outreach,
    sites,
    stripe_webhook,
)
from dashboard.api.site_host import SiteHostSplit
from dashboard.auth.open_pages import start_page_reaper, stop_page_reaper
from dashboard.components import theme
from dashboard.edge import install_edge
from dashboard.health.tasks import start_health_tasks
from dashboard.live.service import start_live, stop_live
from dashboard.outreach.background import start_outreach_tasks
from dashboard.runtime import close_runtime, open_runtime
from dashboard.settings import Settings, load_settings
from dashboard.web import setup_nicegui, storage_cookie_flags

#: Responses smaller than this go out as they are (compressing them saves nothing).
GZIP_MINIMUM_BYTES = 500


def create_app(settings: Settings | None = None, *, with_ui: bool = True) -> FastAPI:
    """The whole app; `with_ui=False` leaves NiceGUI out (route tests: NiceGUI's app is a
    process-wide singleton, so only one mounted app may exist per process)."""
    settings = settings or load_settings()
    settings.require("SECRET_KEY")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await open_runtime(settings)
        outreach_tasks = start_outreach_tasks(runtime)
        await start_live(runtime)
        reaper = start_page_reaper() if with_ui else None
        health_tasks = await start_health_tasks(runtime)
        try:
            yield
        finally:
            await health_tasks.stop()
            if reaper is not None:
                stop_page_reaper()
            await stop_live(runtime)
            await outreach_tasks.stop()
            await close_runtime()

    app = FastAPI(title="CliftonSites Admin", lifespan=lifespan, docs_url=None, redoc_url=None)
    install_edge(app, settings)
    app.include_router(health.router)
    app.include_router(sites.router)
    app.include_router(claim.router)
    app.include_router(outreach.router)
    app.include_router(stripe_webhook.router)
    app.include_router(internal.router)
    app.include_router(admin.router)
    app.include_router(export.router)
    app.add_middleware(
        SiteHostSplit, sites_base_url=settings.sites_base_url, app_base_url=settings.app_base_url
    )
    # Compression for every response (pages, NiceGUI's scripts, the API), as its own
    # middleware; NiceGUI's own is off below so nothing is compressed twice.
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES)
    if not with_ui:
        return app
    if settings.nicegui_redis_url:
        # NiceGUI reads NICEGUI_REDIS_URL only from the environment; a .env value gets here.
        Storage.redis_url = settings.nicegui_redis_url
    setup_nicegui()
    ui.run_with(
        app,
        mount_path="/admin",
        title="CliftonSites Admin",
        storage_secret=settings.secret_key,
        session_middleware_kwargs=storage_cookie_flags(settings),
        show_welcome_message=False,
        favicon=theme.FAVICON,
        language=theme.LANGUAGE,
        gzip_middleware_factory=None,
    )
    return app
