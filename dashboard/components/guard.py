"""The session checks pages make when they act, on top of dashboard.auth.access.

Every handler that writes calls `acting_admin()` first: a page still open after
logout (or past the idle timeout) must not act. Dangerous actions also pass a fresh
TOTP code through `verify_step_up(code)`; `code_from_dialog(...)` asks for it in the
step-up dialog when an action of `dashboard.actions` needs one. They tell the admin
what went wrong.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from dashboard.actions.automation import ActionCancelled, FreshCode, FreshCodeRefused
from dashboard.auth.actor import Actor

__all__ = ["Actor", "acting_admin", "code_from_dialog", "verify_step_up"]


async def acting_admin() -> Actor | None:
    """The admin behind this page if the session is still AAL2, else None (already said)."""
    from dashboard.auth.access import require_admin

    session = await require_admin()
    if session is None:
        return None
    return Actor(id=session.user_id, email=session.email)


async def verify_step_up(code: str) -> bool:
    """True when `code` is a fresh TOTP code of the acting admin (else a notice is shown)."""
    from dashboard.auth.access import step_up

    return await step_up(code)


def code_from_dialog(title: str, impact: Callable[[], Awaitable[str]]) -> FreshCode:
    """An action's `fresh_code` on a page: the step-up dialog with `title` and what the
    action touches (read when asked), then the check; `ActionCancelled` when the admin
    cancels, `FreshCodeRefused` when the code is not right (already told)."""
    from dashboard.components.confirm import ask_code

    async def ask(what: str) -> None:
        code = await ask_code(title, await impact())
        if code is None:
            raise ActionCancelled()
        if not await verify_step_up(code):
            raise FreshCodeRefused(f"the code for {what} is wrong or already used")

    return ask
