"""Operator tasks on admin accounts (local provider), for the CLI and `make demo`:
create, list, reset MFA, unlock. Synchronous: they run before or beside the server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from dashboard.auth import crypto
from dashboard.auth.throttle import account_key

MIN_PASSWORD_LENGTH = 12
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AdminError(ValueError):
    """Bad input for an admin task; the message says what to do."""


@dataclass(frozen=True)
class AdminRow:
    email: str
    created_at: datetime
    last_sign_in_at: datetime | None
    mfa: bool
    recovery_codes_left: int


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AdminError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


def create_admin(database_url: str, email: str, password: str) -> str:
    """Create an admin; return its id. An existing email is an error (nothing changes)."""
    email = email.strip()
    if not _EMAIL.match(email):
        raise AdminError(f"{email!r} is not an email address")
    check_password(password)
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "insert into auth.users (email, encrypted_password) values (%s, %s)"
            " on conflict (email) do nothing returning id::text",
            (email.lower(), crypto.hash_password(password)),
        ).fetchone()
    if row is None:
        raise AdminError(f"an admin with email {email} already exists")
    return str(row[0])


def list_admins(database_url: str) -> list[AdminRow]:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        rows = conn.execute(
            "select u.email, u.created_at, u.last_sign_in_at,"
            " exists (select 1 from auth.mfa_factors f where f.user_id = u.id"
            "   and f.status = 'verified') as mfa,"
            " (select count(*) from admin_private.recovery_codes r where r.user_id = u.id"
            "   and r.used_at is null) as recovery_codes_left"
            " from auth.users u order by u.created_at"
        ).fetchall()
    return [AdminRow(**r) for r in rows]


def _admin_id(conn: psycopg.Connection[Any], email: str) -> tuple[str, str]:
    """(id, email) of the admin with `email` (any case), or AdminError."""
    row = conn.execute(
        "select id::text, email from auth.users where lower(email) = lower(%s)", (email.strip(),)
    ).fetchone()
    if row is None:
        raise AdminError(f"no admin with email {email.strip()}: see `cliftonsites admin list`")
    return str(row[0]), str(row[1])


def reset_mfa(database_url: str, email: str, acting_email: str) -> None:
    """Remove the admin's factors and recovery codes and end their sessions; the next
    sign-in enrols a new factor. The audit row names the admin `acting_email` (who may
    be the same admin, locked out of their own factor)."""
    with psycopg.connect(database_url) as conn:
        actor_id, actor_email = _admin_id(conn, acting_email)
        user_id, _ = _admin_id(conn, email)
        for table in (
            "auth.mfa_factors",
            "admin_private.totp_steps",
            "admin_private.recovery_codes",
        ):
            conn.execute(f"delete from {table} where user_id = %s", (user_id,))
        conn.execute(
            "update admin_private.sessions set revoked_at = now(), revoked_reason = 'reset_mfa',"
            " token_hash = null, handoff_hash = null where user_id = %s and revoked_at is null",
            (user_id,),
        )
        conn.execute(
            "insert into public.admin_audit_log (actor_id, actor_email, action, target, details)"
            " values (%s, %s, 'mfa_reset', %s, '{\"via\": \"cli\"}')",
            (actor_id, actor_email, email.strip().lower()),
        )


def unlock(database_url: str, email: str, acting_email: str) -> int:
    """Forget the account's failed attempts (per-address limits stay), audited as the
    admin `acting_email`."""
    with psycopg.connect(database_url) as conn:
        actor_id, actor_email = _admin_id(conn, acting_email)
        cur = conn.execute(
            "delete from admin_private.auth_failures where key = %s", (account_key(email),)
        )
        conn.execute(
            "insert into public.admin_audit_log (actor_id, actor_email, action, target, details)"
            " values (%s, %s, 'account_unlocked', %s, jsonb_build_object('via', 'cli',"
            " 'failures_cleared', %s::int))",
            (actor_id, actor_email, email.strip().lower(), cur.rowcount),
        )
        return cur.rowcount
