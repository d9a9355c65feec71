"""The shared page layout: a header with the product name, the navigation, the time
zone toggle, dark mode and logout, the live bus's reconnecting banner, and a body
column that every page fills.

    with frame("Logs"):
        ...page body...

Dark mode and the time zone choice persist per admin in `app.storage.user`.

The header is light on purpose: every open page holds it, and each NiceGUI element
costs a page about 4.5 KB of server memory. The product name, the navigation links,
the time zone toggle and the dark-mode switch are ONE escaped `ui.html` block with a
single click listener (its buttons carry `data-action`); only the logout button (and
the dark-mode element that styles the page) are elements of their own. The links
are plain HTML, so they carry the mount prefix (`/admin`) themselves.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from html import escape
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from nicegui import app, ui
from nicegui.events import GenericEventArguments

from dashboard.components import live
from dashboard.components.errors import report_errors
from dashboard.components.health_bar import health_bar
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
    ("/alerts", "Alerts"),
    ("/security", "Security"),
    ("/system", "System"),
)
TIME_MODES: tuple[tuple[str, str], ...] = (("utc", "UTC"), ("browser", "Browser time"))
#: Sends the `data-action` of the clicked header control (if any) to the server.
PICK_ACTION = (
    "(e) => { const t = e.target.closest('[data-action]'); if (t) emit(t.dataset.action); }"
)


def current_zone() -> ZoneInfo | None:
    """The zone this page shows times in (None = UTC).

    Read from the page's client storage, which live refreshes can reach; the admin's
    own storage is only there while the page request is being answered."""
    zone = app.storage.client.get("zone")
    return zone if isinstance(zone, ZoneInfo) else None


def path_prefix() -> str:
    """Where the app is mounted (`/admin`), as NiceGUI computes it for its own links
    (percent-encoded the same way): plain HTML links carry it themselves."""
    request = ui.context.client.request
    forwarded = quote(request.headers.get("X-Forwarded-Prefix", ""), safe="/:@!$&'()*+,;=%")
    prefix = forwarded + str(request.scope.get("root_path", ""))
    return prefix if prefix.startswith("/") else ""


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


def _link(path: str, label: str, prefix: str, active: bool) -> str:
    marks = (
        'class="text-white font-bold underline" aria-current="page"'
        if active
        else 'class="text-white no-underline"'
    )
    return f'<a {marks} href="{escape(prefix + path)}">{escape(label)}</a>'


def nav_html(active: str, prefix: str) -> str:
    """The product name and one link per page; the current page's link is marked."""
    links = "".join(_link(path, label, prefix, path == active) for path, label in NAV)
    name = f'<span class="text-lg font-bold whitespace-nowrap">{escape(PRODUCT)}</span>'
    nav = f'<nav class="flex flex-wrap items-center gap-x-3" aria-label="Pages">{links}</nav>'
    return f"{name}{nav}"


def _time_button(mode: str, label: str, chosen: bool) -> str:
    colours = "bg-secondary text-white" if chosen else "bg-white text-primary"
    return (
        f'<button type="button" data-action="time:{mode}" aria-pressed="{str(chosen).lower()}"'
        f' class="px-2 py-0.5 {colours}">{escape(label)}</button>'
    )


def _dark_switch(dark: bool) -> str:
    track = "bg-white/70" if dark else "bg-white/40"
    knob = "translate-x-4" if dark else "translate-x-0"
    return (
        f'<button type="button" role="switch" aria-checked="{str(dark).lower()}"'
        ' data-action="dark" class="inline-flex items-center gap-2 text-sm">'
        f'<span class="w-9 h-4 rounded-full {track}"><span class="block -mt-0.5 w-5 h-5'
        f' rounded-full bg-white shadow transition-transform {knob}"></span></span>Dark</button>'
    )


def controls_html(time_mode: str, dark: bool) -> str:
    """The UTC / browser-time toggle and the dark-mode switch, as buttons whose
    `data-action` the header's click listener sends to the server."""
    buttons = "".join(_time_button(m, label, m == time_mode) for m, label in TIME_MODES)
    toggle = (
        '<div role="group" aria-label="Show times in"'
        f' class="inline-flex rounded overflow-hidden text-xs font-medium shadow">{buttons}</div>'
    )
    return f'<div class="ml-auto flex items-center gap-4">{toggle}{_dark_switch(dark)}</div>'


class Header:
    """The header bar of one page: one html block (name, navigation, time toggle, dark
    switch) and the logout button."""

    def __init__(self, active: str, dark: ui.dark_mode) -> None:
        self.storage = app.storage.user
        self.active, self.prefix, self.dark = active, path_prefix(), dark
        with ui.header().classes("items-center gap-x-4 gap-y-1 flex-wrap px-4 py-2"):
            self.bar = ui.html(self.render(), sanitize=False)
            self.bar.classes("grow flex flex-wrap items-center gap-x-4 gap-y-1").mark("header")
            self.bar.on("click", self.act, js_handler=PICK_ACTION)
            _logout_button()

    def render(self) -> str:
        mode = str(self.storage.get("time_mode", "utc"))
        return nav_html(self.active, self.prefix) + controls_html(
            mode, bool(self.storage.get("dark_mode"))
        )

    async def act(self, event: GenericEventArguments) -> None:
        action: Any = event.args
        if isinstance(action, list) and action:
            action = action[0]
        if action == "dark":
            self.storage["dark_mode"] = not self.storage.get("dark_mode")
            self.dark.set_value(bool(self.storage["dark_mode"]))
            self.bar.set_content(self.render())
        elif action in ("time:utc", "time:browser"):
            await _use_time_mode(str(action).removeprefix("time:"))


@contextmanager
def frame(title: str, active: str = "/") -> Iterator[None]:
    """Lay out one page: header, live banner, then the caller's body in the page's
    content column (centred, at most 2xl wide)."""
    storage = app.storage.user
    storage.setdefault("dark_mode", False)
    app.storage.client["zone"] = zone_for(storage.get("time_mode"), storage.get("browser_tz"))
    dark = ui.dark_mode(bool(storage["dark_mode"]))
    ui.page_title(f"{title} · {PRODUCT}")
    report_errors(to_admin=True)
    Header(active, dark)
    # The page's own content column holds banner, title and body: no wrapper element.
    ui.context.client.content.classes("w-full max-w-screen-2xl mx-auto p-8 gap-4")
    live.banner()
    health_bar(path_prefix())
    ui.label(title).classes("text-2xl font-semibold")
    yield
