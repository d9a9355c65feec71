"""The product's "page not found" handler stands in for NiceGUI's 404 handler, through
which NiceGUI also serves a `ui.run(root)` page: that page must keep answering."""

from __future__ import annotations

from nicegui import ui
from nicegui.testing.user_simulation import user_simulation

from dashboard.pages import not_found


async def test_a_root_page_still_answers_once_the_not_found_page_is_registered() -> None:
    not_found.register()

    def root() -> None:
        ui.label("the root page")

    async with user_simulation(root=root) as user:
        await user.open("/")
        await user.should_see("the root page")
