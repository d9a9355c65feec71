"""The step-up dialog for dangerous actions: it says what the action touches and asks
for a fresh code from the admin's authenticator app. The code field has the focus and
sits in a real form, so typing the code and pressing Enter confirms; Escape cancels.
`ask_yes` is the plain "are you sure" for an action that needs no code."""

from __future__ import annotations

import re
from html import escape

from nicegui import ui

from dashboard.components.forms import form, submit_button

CODE = re.compile(r"^\d{6}$")
CODE_HINT = "Enter the 6-digit code from your authenticator app"


async def ask_code(title: str, impact: str) -> str | None:
    """Show `impact`, ask for a code; the code typed, or None when cancelled."""
    with ui.dialog().props("persistent") as dialog, ui.card().classes("w-96 max-w-full"):
        ui.html(f'<h2 class="text-lg font-semibold m-0">{escape(title)}</h2>', sanitize=False)
        ui.label(impact).classes("whitespace-pre-line").mark("step-up-impact")
        with form():
            code = (
                ui.input(
                    "Authenticator code",
                    validation={CODE_HINT: lambda v: bool(CODE.match((v or "").strip()))},
                )
                .props(
                    "autofocus inputmode=numeric maxlength=6 autocomplete=one-time-code"
                    " data-testid=step-up-code"
                )
                .mark("step-up-code")
            )

            def confirm() -> None:
                if code.validate():
                    dialog.submit(code.value.strip())

            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=lambda: dialog.submit(None)).props("flat")
                submit_button("Confirm", confirm).props("color=negative").mark("step-up-confirm")
    result = await _answer(dialog, None)
    return result if isinstance(result, str) else None


async def _answer(dialog: ui.dialog, cancelled: object) -> object:
    """Wait for the dialog's answer, then remove it. A persistent dialog ignores Escape
    by itself; a keyboard user still needs a way out, which answers `cancelled`."""
    dialog.on("escape-key", lambda: dialog.submit(cancelled))
    try:
        return await dialog
    finally:
        dialog.delete()


async def ask_yes(title: str, text: str, confirm: str, marker: str) -> bool:
    """Ask before an action that needs no code; True when the admin confirms. The
    confirm button is marked `marker`; Cancel has the focus, Escape cancels."""
    with ui.dialog().props("persistent") as dialog, ui.card().classes("w-96 max-w-full"):
        ui.html(f'<h2 class="text-lg font-semibold m-0">{escape(title)}</h2>', sanitize=False)
        ui.label(text).classes("whitespace-pre-line")
        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=lambda: dialog.submit(False)).props("flat autofocus")
            ui.button(confirm, on_click=lambda: dialog.submit(True)).props(
                f"color=negative data-testid={marker}"
            ).mark(marker)
    return await _answer(dialog, False) is True
