"""What a page shows when a click fails in a way its handler did not expect: a notice
that says what happened and what to do, instead of nothing at all. The exception still
reaches the server log through NiceGUI's global handlers.

Admin pages (`frame`) say what the database refused; the sign-in pages, whose visitor
is not signed in yet, say only that the server failed.
"""

from __future__ import annotations

from nicegui import ui

from dashboard.data.query import BackendError

SERVER_TROUBLE = "Something went wrong on the server. Try again in a moment."


def admin_notice(exc: Exception) -> str:
    if isinstance(exc, BackendError):
        return (
            f"The database refused this: {exc.message}. That step was not saved; try"
            " again, and if it keeps failing run `cliftonsites doctor`."
        )
    return (
        f"Something went wrong: {type(exc).__name__}: {exc}. It is in the server log;"
        " reload the page and try again."
    )


def report_errors(*, to_admin: bool) -> None:
    """From now on, tell this page's visitor about any exception a handler let through."""

    def tell(exc: Exception) -> None:
        text = admin_notice(exc) if to_admin else SERVER_TROUBLE
        ui.notify(text, type="negative", multi_line=True, timeout=15_000)

    ui.on_exception(tell)
