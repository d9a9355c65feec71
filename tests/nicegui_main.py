"""Main file for NiceGUI's User fixture: builds the real NiceGUI side of the app.

The User fixture runs this file before every test: it registers the guard, its routes
and the pages (`setup_nicegui()`), then `ui.run(...)` in simulation mode.

The runtime (database pool, settings, services) is NOT opened here: NiceGUI runs
async start-up handlers as background tasks, so the first request could come before
the pool. A test opens it first with an autouse fixture, on the `app_db_url`
database: the `app_runtime` fixture in tests/conftest.py, which a module turns on for
every test with

    pytestmark = pytest.mark.usefixtures("app_runtime")
"""

from nicegui import ui

from dashboard.web import setup_nicegui

TEST_SECRET_KEY = "test-secret-key-for-the-user-fixture-0123456789"

setup_nicegui()
ui.run(storage_secret=TEST_SECRET_KEY, show_welcome_message=False)
