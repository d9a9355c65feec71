"""The shared page layout: a header with the product name, the navigation, the time
zone toggle, dark mode and logout, the live bus's reconnecting banner, and a body
column that every page fills.

    with frame("Logs"):
        ...page body...

Dark mode and the time zone choice persist per admin in `app.storage.user`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

from nicegui import app, ui

from dashboard.components import live
from dashboard.components.timefmt import zone_for

PRODUCT = "CliftonSites Admin"
NAV: tuple[tuple[str, str], ...] = (
    ("/", "Overview"),
    ("/logs", "Logs"),
    ("/runs", "Runs"),
    ("/businesses", "Businesses"),
    ("/config", "Config"),
    ("/audit", "Audit"),
    ("/reconcile", "Reconcile"),
    ("/security", "Security"),
    ("/system", "System"),
)


def current_zone() -> ZoneInfo | None:
    """The zone this page shows times in (None = UTC).

    Read from the page's client storage, which live refreshes can reach; the admin's
    own storage is only there while the page request is being answered."""
    zone = app.storage.client.get("zone")
    return zone if isinstance(zone, ZoneInfo) else None


async def _use_time_mode(mode: str) -> None:
    storage = app.storage.user
    if mode == "browser" and not storage.get("browser_tz"):
        with contextlib.suppress(TimeoutError):
            tz = await ui.run_javascript(
                "Intl.DateTimeFormat().resolvedOptions().timeZone", timeout=3.0
            )
            if isinstance(tz, str) and zone_for("browser", tz) is not None:
                storage["browser_tz"] = tz
    storage["time_mode"] = mode
    ui.navigate.reload()


def _logout_button() -> None:
    """Auth's logout button when it is there; the header must render either way."""
    try:
        from dashboard.auth.ui import logout_button  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        ui.link("Log out", "/logout").classes("text-white")
        return
    logout_button()


def _header(active: str) -> None:
    storage = app.storage.user
    with ui.header().classes("items-center gap-x-4 gap-y-1 flex-wrap px-4 py-2"):
        ui.label(PRODUCT).classes("text-lg font-bold whitespace-nowrap")
        with ui.row().classes("gap-x-3 gap-y-0 flex-wrap items-center"):
            for path, label in NAV:
                link = ui.link(label, path).classes("text-white no-underline")
                if path == active:
                    link.classes("font-bold underline")
        ui.space()
        ui.toggle(
            {"utc": "UTC", "browser": "Browser time"},
            value=storage.get("time_mode", "utc"),
            on_change=lambda e: _use_time_mode(str(e.value)),
        ).props("dense no-caps size=sm color=white text-color=primary toggle-color=secondary")
        ui.switch("Dark").bind_value(storage, "dark_mode").props("color=white dense")
        _logout_button()


@contextmanager
def frame(title: str, active: str = "/") -> Iterator[None]:
    """Lay out one page: header, live banner, then the caller's body in a wide column."""
    storage = app.storage.user
    storage.setdefault("dark_mode", False)
    app.storage.client["zone"] = zone_for(storage.get("time_mode"), storage.get("browser_tz"))
    ui.dark_mode().bind_value(storage, "dark_mode")
    ui.page_title(f"{title} · {PRODUCT}")
    _header(active)
    live.banner()
    with ui.column().classes("w-full max-w-screen-2xl mx-auto p-4 gap-4"):
        ui.label(title).classes("text-2xl font-semibold")
        yield
