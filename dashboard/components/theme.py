"""The app's look on every page: `dashboard/assets/` (favicon, logo, the app's CSS)
served under `/admin/assets/` with long cache lifetimes, the colour palette, the
`<html lang>`, and the page's dark mode.

`install()` runs once before `ui.run*`; `apply(theme)` in every page (the frame and
the sign-in pages) links the stylesheet and sets dark mode: `auto` follows the
browser's `prefers-color-scheme`, `light` and `dark` are the admin's stored choice
(`dashboard.auth.preferences`). Asset URLs carry a hash of the file (`?v=...`), so a
changed file is fetched anew though browsers may keep each one for a year.
`path_prefix()` says where the app is mounted, for the asset URLs and plain links of
the frame and the sign-in pages.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Final
from urllib.parse import quote

from nicegui import app, ui

from dashboard.auth.preferences import Theme, dark_value

ASSETS = Path(__file__).resolve().parents[1] / "assets"
ASSETS_PATH = "/assets"
#: A year: asset URLs change with their content (`?v=`), so a cached copy is never stale.
ASSET_MAX_AGE = 365 * 24 * 3600
LANGUAGE: Final = "en-GB"
FAVICON = ASSETS / "favicon.svg"
CHARTS = ASSETS / "plotly"
#: Quasar's brand colours, each with white text at 4.5:1 or more (WCAG AA).
PALETTE = {
    "primary": "#1d4ed8",
    "secondary": "#0f766e",
    "accent": "#7e22ce",
    "dark": "#1e1e24",
    "dark_page": "#121216",
    "positive": "#15803d",
    "negative": "#b91c1c",
    "info": "#1d4ed8",
    "warning": "#b45309",
}


def install() -> None:
    """Serve `assets/` and set the palette (once, before `ui.run*`); `ui.plotly` gets the
    small, lazily loaded chart bundle (`use_small_chart_bundle`)."""
    app.add_static_files(ASSETS_PATH, ASSETS, max_cache_age=ASSET_MAX_AGE)
    app.colors(**PALETTE)
    use_small_chart_bundle()


def use_small_chart_bundle() -> None:
    """Point NiceGUI's "nicegui-plotly" module at `assets/plotly/`: a stand-in that loads
    plotly.js (built with only the bar, funnel and heatmap traces we draw: 390 KB
    compressed instead of 1.35 MB) when a chart first nears the screen.

    NiceGUI serves the folder under its versioned `/_nicegui/<version>/esm/` path with its
    own cache headers; the module key (and so the URL) stays NiceGUI's."""
    import nicegui.elements.plotly  # noqa: F401  (registers the module)
    from nicegui.dependencies import esm_modules

    for module in esm_modules.values():
        if module.name == "nicegui-plotly":
            module.path = CHARTS


@cache
def _version(name: str) -> str:
    return hashlib.sha256((ASSETS / name).read_bytes()).hexdigest()[:12]


def asset_url(name: str, prefix: str) -> str:
    """The URL of `assets/<name>` under the mount `prefix` (e.g. `/admin`)."""
    return f"{prefix}{ASSETS_PATH}/{name}?v={_version(name)}"


def apply(theme: Theme, prefix: str) -> ui.dark_mode:
    """Link the app's CSS into this page and set its dark mode from `theme`."""
    ui.add_head_html(
        f'<link rel="stylesheet" href="{asset_url("app.css", prefix)}">'
        f'<script src="{asset_url("app.js", prefix)}" defer></script>'
    )
    return ui.dark_mode(dark_value(theme))


def path_prefix() -> str:
    """Where the app is mounted (`/admin`), as NiceGUI computes it for its own links
    (percent-encoded the same way): plain HTML links carry it themselves."""
    request = ui.context.client.request
    forwarded = quote(request.headers.get("X-Forwarded-Prefix", ""), safe="/:@!$&'()*+,;=%")
    prefix = forwarded + str(request.scope.get("root_path", ""))
    return prefix if prefix.startswith("/") else ""
