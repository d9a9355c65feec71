"""The session checks pages make when they act, on top of dashboard.auth.access.

Every handler that writes calls `acting_admin()` first: a page still open after
logout (or past the idle timeout) must not act. Dangerous actions also pass a fresh
TOTP code through `verify_step_up(code)`. Both tell the admin what went wrong.
"""

from __future__ import annotations

from dashboard.auth.actor import Actor

__all__ = ["Actor", "acting_admin", "verify_step_up"]


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
