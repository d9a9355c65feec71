"""NiceGUI side of the app: registers the auth middleware and every `/admin` page.

Called by `app.create_app()` before `ui.run_with(...)`, and by the test main file
before `ui.run(...)` (NiceGUI's User fixture talks to the NiceGUI app directly, so
page paths here are relative to the `/admin` mount).
"""

from __future__ import annotations


def setup_nicegui() -> None:
    """Import the page modules (their `@ui.page` decorators register the routes)."""
    from dashboard import pages  # noqa: F401
