"""Audit rows for sign-in events in `public.admin_audit_log`, with address and user agent.

Actions written here: login, login_failed, lockout, mfa_verified, mfa_failed,
mfa_enrolled, recovery_code_used, recovery_codes_regenerated, step_up,
step_up_failed, logout, session_ended, sign_out_everywhere, session_expired_action.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from dashboard.backends.postgres import PostgresBackend


@dataclass(frozen=True)
class RequestMeta:
    """Where a request came from: address, user agent, and NiceGUI's browser id."""

    ip: str | None = None
    user_agent: str | None = None
    binding: str | None = None


def _inet(ip: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(ip)) if ip else None
    except ValueError:
        return None


async def audit(
    db: PostgresBackend,
    action: str,
    meta: RequestMeta,
    *,
    actor_id: str | None = None,
    actor_email: str | None = None,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    async with db.owner() as conn:
        await conn.execute(
            "insert into public.admin_audit_log (actor_id, actor_email, action, target,"
            " details, ip, user_agent) values (%s, %s, %s, %s, %s, %s, %s)",
            (
                actor_id,
                actor_email,
                action,
                target,
                Jsonb(details or {}),
                _inet(meta.ip),
                (meta.user_agent or "")[:400] or None,
            ),
        )


async def recent_for(db: PostgresBackend, user_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """The admin's own latest audit rows (the security page shows them)."""
    async with db.owner() as conn:
        cur = await conn.execute(
            "select created_at, action, target, details, host(ip) as ip, user_agent"
            " from public.admin_audit_log where actor_id = %s order by id desc limit %s",
            (user_id, limit),
        )
        return await cur.fetchall()
