"""Each admin's display preferences in `admin_private.admin_preferences`, kept with the
admin on the server (not in one browser's storage), so they follow the admin to every
browser and device: for now the colour theme.

`auto` (also: no row yet) follows the browser's `prefers-color-scheme`; `light` and
`dark` are the admin's own choice and win over the browser's. `ThemeLoader` reads
the signed-in admin's theme once per page request (after the guard found the session)
into `request.state.admin_theme`, where the page's frame picks it up.
"""

from __future__ import annotations

import logging
from typing import Any, Literal, cast, get_args

from starlette.types import ASGIApp, Receive, Scope, Send

from dashboard.backends.postgres import PostgresBackend
from dashboard.runtime import get_runtime

log = logging.getLogger(__name__)

Theme = Literal["auto", "light", "dark"]
THEMES: tuple[Theme, ...] = get_args(Theme)


def dark_value(theme: Theme) -> bool | None:
    """What NiceGUI's dark mode takes: None follows the browser, else on or off."""
    return None if theme == "auto" else theme == "dark"


async def get_theme(db: PostgresBackend, user_id: str) -> Theme:
    """The admin's theme; `auto` until they choose one."""
    async with db.owner() as conn:
        cur = await conn.execute(
            "select theme from admin_private.admin_preferences where user_id = %s", (user_id,)
        )
        row = await cur.fetchone()
    value = row["theme"] if row else "auto"
    return cast(Theme, value) if value in THEMES else "auto"


async def set_theme(db: PostgresBackend, user_id: str, theme: str) -> Theme:
    """Store the admin's theme; anything but auto, light or dark is refused unchanged."""
    if theme not in THEMES:
        raise ValueError(f"theme must be one of {', '.join(THEMES)}, not {theme!r}")
    async with db.owner() as conn:
        await conn.execute(
            "insert into admin_private.admin_preferences as p (user_id, theme, updated_at)"
            " values (%s, %s, now()) on conflict (user_id)"
            " do update set theme = excluded.theme, updated_at = now()",
            (user_id, theme),
        )
    return theme


class ThemeLoader:
    """ASGI middleware inside the guard: puts the admin's theme into the request state
    of every page request that has a session (not for NiceGUI's files or the assets)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state: dict[str, Any] = scope.get("state") or {}
        session = state.get("admin_session")
        if scope["type"] == "http" and session is not None:
            try:
                state["admin_theme"] = await get_theme(get_runtime().db, session.user_id)
            except Exception:  # a page still renders, in the browser's scheme
                log.exception("reading the admin's theme failed")
        await self.app(scope, receive, send)


def page_theme(state: Any) -> Theme:
    """The theme a page request carries (`auto` when none was read)."""
    value = getattr(state, "admin_theme", "auto")
    return cast(Theme, value) if value in THEMES else "auto"


async def save_page_theme(theme: str) -> Theme | None:
    """Store `theme` for the admin of the current NiceGUI page (the session is checked
    now: an open page outlives its session); None when that session has ended."""
    from dashboard.auth.access import page_session

    session = await page_session(touch=False)
    if session is None:
        return None
    return await set_theme(get_runtime().db, session.user_id, theme)
