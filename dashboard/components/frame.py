"""The shared page layout: a header with the logo and product name, the navigation, the
time zone toggle, the theme choice and logout, the live bus's reconnecting banner, and
a body column (with the page's one `h1`) that every page fills.

    with frame("Logs"):
        ...page body...

The time zone choice persists per admin in `app.storage.user`; the theme (auto, light,
dark) is stored with the admin on the server (`dashboard.auth.preferences`), so it
follows them to every browser; `auto` follows the browser's `prefers-color-scheme`.

The header is light on purpose: every open page holds it, and each NiceGUI element
costs a page about 4.5 KB of server memory. The skip link, logo, navigation links, time
zone toggle and theme choice are ONE escaped `ui.html` block with a single click
listener (its buttons carry `data-action`); only the logout button (and the dark-mode
element that styles the page) are elements of their own. The links are plain HTML, so
they carry the mount prefix (`/admin`) themselves. At phone width (below 768 px) the
navigation and the toggles fold into a `Menu` (an HTML `<details>`: no script, and
Enter or Space opens it), so the header stays one row of at most 64 px.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from nicegui import app, ui
from nicegui.events import GenericEventArguments

from dashboard.auth.preferences import THEMES, Theme, dark_value, page_theme, save_page_theme
from dashboard.auth.ui import logout_button
from dashboard.components import live, theme
from dashboard.components.errors import report_errors
from dashboard.components.health_bar import health_bar
from dashboard.components.theme import path_prefix as path_prefix  # pages take it from here
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
THEME_LABELS: dict[Theme, str] = {"auto": "Auto", "light": "Light", "dark": "Dark"}
WIDE_CLASSES = "cs-wide grow items-center gap-x-4 gap-y-1 flex-wrap"
#: Where the skip link goes: the page's title, first thing of its main content.
MAIN_ID = "main-content"
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


def _link(path: str, label: str, prefix: str, active: bool) -> str:
    marks = (
        'class="text-white font-bold underline" aria-current="page"'
        if active
        else 'class="text-white no-underline"'
    )
    return f'<a {marks} href="{escape(prefix + path)}">{escape(label)}</a>'


def brand_html(prefix: str) -> str:
    """Skip link, logo and product name (linking to the overview)."""
    skip = f'<a class="skip-link" href="#{MAIN_ID}">Skip to content</a>'
    logo = f'<img src="{escape(theme.asset_url("logo.svg", prefix))}" alt="" class="w-7 h-7">'
    name = (
        '<span class="text-lg font-bold whitespace-nowrap">CliftonSites'
        '<span class="cs-wide-name"> Admin</span></span>'
    )
    home = f'<a class="flex items-center gap-2 no-underline" href="{escape(prefix or "/")}"'
    return f'{skip}{home} aria-label="{escape(PRODUCT)}: overview">{logo}{name}</a>'


def nav_html(active: str, prefix: str, label: str = "Pages", classes: str = "") -> str:
    """One link per page; the current page's link is marked."""
    links = "".join(_link(path, name, prefix, path == active) for path, name in NAV)
    return f'<nav class="flex items-center gap-x-3 {classes}" aria-label="{label}">{links}</nav>'


def _time_button(mode: str, label: str, chosen: bool) -> str:
    colours = "cs-toggle-on" if chosen else "cs-toggle"
    return (
        f'<button type="button" data-action="time:{mode}" aria-pressed="{str(chosen).lower()}"'
        f' class="px-2 py-0.5 {colours}">{escape(label)}</button>'
    )


def _theme_button(choice: Theme, chosen: bool) -> str:
    colours = "cs-toggle-on" if chosen else "cs-toggle"
    return (
        f'<button type="button" data-action="theme:{choice}" aria-pressed="{str(chosen).lower()}"'
        f' class="px-2 py-0.5 {colours}">{escape(THEME_LABELS[choice])}</button>'
    )


def _group(label: str, buttons: str) -> str:
    return (
        f'<div role="group" aria-label="{escape(label)}"'
        f' class="inline-flex rounded overflow-hidden text-xs font-medium shadow">{buttons}</div>'
    )


def controls_html(time_mode: str, chosen_theme: Theme, classes: str = "ml-auto") -> str:
    """The UTC / browser-time toggle and the theme choice (auto, light, dark), as buttons
    whose `data-action` the header's click listener sends to the server."""
    times = "".join(_time_button(m, label, m == time_mode) for m, label in TIME_MODES)
    themes = "".join(_theme_button(t, t == chosen_theme) for t in THEMES)
    return (
        f'<div class="{classes} flex flex-wrap items-center gap-4">'
        f"{_group('Show times in', times)}{_group('Theme', themes)}</div>"
    )


def menu_html(active: str, prefix: str, time_mode: str, chosen_theme: Theme) -> str:
    """The phone's header: navigation and toggles folded into a `Menu` disclosure."""
    summary = (
        '<summary class="px-3 py-1 rounded border border-white/70 font-medium"'
        ' aria-label="Menu: pages and settings">Menu</summary>'
    )
    panel = nav_html(active, prefix, "Pages (menu)", "flex-col items-start")
    panel += controls_html(time_mode, chosen_theme, "")
    return (
        f'<details class="cs-menu cs-narrow ml-auto relative" data-testid="menu">{summary}'
        f'<div class="cs-menu-panel">{panel}</div></details>'
    )


class Header:
    """The header bar of one page: one html block (skip link, logo, navigation, time
    toggle, theme choice; folded into a menu on phones) and the logout button."""

    def __init__(self, active: str, dark: ui.dark_mode, chosen_theme: Theme) -> None:
        self.storage = app.storage.user
        self.active, self.prefix, self.dark = active, path_prefix(), dark
        self.theme = chosen_theme
        header = ui.header().classes("cs-header items-center gap-x-4 flex-nowrap px-4 py-2")
        with header:
            self.bar = ui.html(self.render(), sanitize=False)
            self.bar.classes("grow flex items-center gap-x-4 min-w-0").mark("header")
            self.bar.on("click", self.act, js_handler=PICK_ACTION)
            logout_button()

    def render(self) -> str:
        mode = str(self.storage.get("time_mode", "utc"))
        wide = nav_html(self.active, self.prefix, classes="flex-wrap")
        wide += controls_html(mode, self.theme)
        return (
            brand_html(self.prefix)
            + f'<div class="{WIDE_CLASSES}">{wide}</div>'
            + menu_html(self.active, self.prefix, mode, self.theme)
        )

    async def act(self, event: GenericEventArguments) -> None:
        action: Any = event.args
        if isinstance(action, list) and action:
            action = action[0]
        if isinstance(action, str) and action.removeprefix("theme:") in THEMES:
            chosen = await save_page_theme(action.removeprefix("theme:"))
            if chosen is None:
                ui.navigate.to("/login")
                return
            self.theme = chosen
            self.dark.set_value(dark_value(chosen))
            self.bar.set_content(self.render())
        elif action in ("time:utc", "time:browser"):
            await _use_time_mode(str(action).removeprefix("time:"))


@contextmanager
def frame(title: str, active: str = "/") -> Iterator[None]:
    """Lay out one page: header, live banner, then the caller's body in the page's
    content column (centred, at most 2xl wide), which starts with the page's `h1`."""
    storage = app.storage.user
    app.storage.client["zone"] = zone_for(storage.get("time_mode"), storage.get("browser_tz"))
    chosen_theme = page_theme(ui.context.client.request.state)
    dark = theme.apply(chosen_theme, path_prefix())
    ui.page_title(f"{title} · {PRODUCT}")
    report_errors(to_admin=True)
    Header(active, dark, chosen_theme)
    # The page's own content column holds banner, title and body: no wrapper element.
    ui.context.client.content.classes("w-full max-w-screen-2xl mx-auto p-8 gap-4 cs-content")
    live.banner()
    health_bar(path_prefix())
    ui.html(page_title_html(title), sanitize=False)
    if notice := storage.pop(NOTICE_KEY, None):
        show_notice(str(notice))
    yield


#: `app.storage.user` key of a message for the next page the admin sees (shown once)
NOTICE_KEY = "notice"


def show_notice(text: str) -> None:
    """A message left for this page by the step before it (e.g. the MFA page), until
    the admin dismisses it."""
    with ui.row().classes("w-full items-center gap-2 p-3 rounded border") as box:
        box.props('role="status"').mark("page-notice")
        ui.label(text).classes("grow")
        ui.button("Dismiss", on_click=box.delete).props("flat no-caps dense")


def page_title_html(title: str) -> str:
    """The page's one `h1`, where the skip link lands."""
    return (
        f'<h1 id="{MAIN_ID}" tabindex="-1" class="text-2xl font-semibold m-0">{escape(title)}</h1>'
    )
