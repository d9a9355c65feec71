"""NiceGUI side of the app: registers the auth guard, its routes and every `/admin` page.

Called by `app.create_app()` before `ui.run_with(...)`, and by the test main file
before `ui.run(...)` (NiceGUI's User fixture talks to the NiceGUI app directly, so
page paths here are relative to the `/admin` mount). The guard must be added before
`ui.run*`: NiceGUI's session middleware then wraps it, so `app.storage` works inside.

It also binds NiceGUI's socket messages to the page's own socket and session
(`dashboard.auth.sockets`).

Page modules either expose `register()` (called here every time) or use `@ui.page`
at import; the NiceGUI test fixture drops routes between tests, so such modules are
reloaded here when their routes are gone.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from typing import Any

from nicegui import Client, app

from dashboard.settings import Settings


def setup_nicegui() -> None:
    from nicegui import core

    from dashboard.auth import guard, sockets
    from dashboard.auth.preferences import ThemeLoader
    from dashboard.components import theme

    theme.install()
    app.add_middleware(ThemeLoader)  # added first, so the guard wraps it and runs before
    guard.install(app)
    sockets.install(core.sio)  # socket messages count only from the page's own socket
    _register_pages()


def _register_pages() -> None:
    import dashboard.pages as pages

    registered = {fn.__module__ for fn in Client.page_routes}
    for info in pkgutil.iter_modules(pages.__path__):
        name = f"{pages.__name__}.{info.name}"
        was_loaded = name in sys.modules
        module = importlib.import_module(name)
        register = getattr(module, "register", None)
        if callable(register):
            register()
        elif was_loaded and name not in registered:
            importlib.reload(module)


def storage_cookie_flags(settings: Settings) -> dict[str, Any]:
    """Flags for NiceGUI's own storage cookie (Starlette's default is not Secure).

    It carries only NiceGUI's browser id, never who is signed in (that is `cs_session`).
    """
    https = settings.cookie_secure == "always" or (
        settings.cookie_secure == "auto" and (settings.public_base_url or "").startswith("https://")
    )
    return {"same_site": "lax", "https_only": https}
