"""Starting and stopping the process's one live bus, registered as `services['live']`.

The source follows the runtime's mode: Supabase Realtime for a Supabase project,
LISTEN/NOTIFY (the local bootstrap's `cs_changes` triggers) otherwise. The snapshot
is `get_dashboard_snapshot()` (RPC 18) through the data layer, unless a test or a
benchmark passes its own fetch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from dashboard.data.models import DashboardSnapshot
from dashboard.live.bus import LiveBus
from dashboard.live.nicegui_glue import attach
from dashboard.live.postgres_source import PostgresChangeSource
from dashboard.live.source import ChangeSource
from dashboard.runtime import Runtime


def make_source(runtime: Runtime) -> ChangeSource:
    if runtime.mode == "supabase":
        from dashboard.live.supabase_source import SupabaseChangeSource

        return SupabaseChangeSource.from_settings(runtime.settings)
    return PostgresChangeSource(runtime.database_url)


async def read_snapshot(runtime: Runtime) -> DashboardSnapshot:
    """A fresh dashboard snapshot (RPC 18), for a page that needs one before the bus has."""
    from dashboard.data.overview import get_dashboard_snapshot

    return await get_dashboard_snapshot(runtime.api)


def snapshot_fetcher(runtime: Runtime) -> Callable[[], Awaitable[Any]]:
    async def fetch() -> Any:
        return await read_snapshot(runtime)

    return fetch


async def start_live(
    runtime: Runtime,
    *,
    source: ChangeSource | None = None,
    fetch: Callable[[], Awaitable[Any]] | None = None,
    **options: Any,
) -> LiveBus[Any]:
    """Start the bus once per process (a second call returns the running one)."""
    running = runtime.services.get("live")
    if isinstance(running, LiveBus):
        return running
    bus: LiveBus[Any] = LiveBus(
        source or make_source(runtime), fetch or snapshot_fetcher(runtime), **options
    )
    attach(bus)
    runtime.services["live"] = bus
    await bus.start()
    return bus


async def stop_live(runtime: Runtime) -> None:
    bus = runtime.services.pop("live", None)
    if isinstance(bus, LiveBus):
        await bus.stop()
