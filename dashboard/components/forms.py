"""Real HTML forms for NiceGUI inputs, so Enter in any field submits as a person
expects.

`form()` is a `<form>` whose browser submit is cancelled in the page (no request, no
reload); the form's `submit_button` is `type=submit`, so the browser's own implicit
submission turns Enter in a field into one click on that button, and the button's
click handler is the only place the action runs (no separate Enter handler that could
send it twice).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

#: Cancels the browser's own submit (a page reload); the button's click does the work.
CANCEL_SUBMIT = "(e) => e.preventDefault()"


def form(classes: str = "w-full flex flex-col gap-3") -> ui.element:
    """A `<form>` to hold inputs and one `submit_button` (use it as a context manager)."""
    element = ui.element("form").classes(classes).props("novalidate")
    element.on("submit", js_handler=CANCEL_SUBMIT)
    return element


def submit_button(text: str, on_click: Callable[[], Awaitable[None] | None]) -> ui.button:
    """The form's submit button: a click, or Enter in any field of its form, runs
    `on_click` once."""
    return ui.button(text, on_click=on_click).props("type=submit")
