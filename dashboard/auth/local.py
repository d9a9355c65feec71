"""The local auth provider: argon2id passwords in `auth.users`, Fernet-encrypted TOTP
secrets in `auth.mfa_factors`, and the replay guard in `admin_private.totp_steps`.

Used in the embedded and `DATABASE_URL` modes; see `provider.py` for the contract.
"""

from __future__ import annotations

import asyncio
from typing import Any

from dashboard.auth import crypto
from dashboard.auth.provider import (
    Aal,
    AssuranceLevel,
    Clock,
    Enrollment,
    Factor,
    Identity,
    InvalidCode,
    InvalidCredentials,
    ReplayedCode,
    system_clock,
)
from dashboard.backends.postgres import PostgresBackend

# One statement: accept `step` only when it is newer than the last accepted one.
_ACCEPT_STEP = """
insert into admin_private.totp_steps as t (factor_id, user_id, last_step, updated_at)
values (%(factor_id)s, %(user_id)s, %(step)s, %(now)s)
on conflict (factor_id) do update
   set last_step = excluded.last_step, updated_at = excluded.updated_at
 where t.last_step < excluded.last_step
returning t.last_step
"""


class LocalAuthProvider:
    name = "local"

    def __init__(self, db: PostgresBackend, box: crypto.SecretBox, *, clock: Clock = system_clock):
        self.db = db
        self.box = box
        self.clock = clock

    async def sign_in_with_password(self, email: str, password: str) -> Identity:
        async with self.db.owner() as conn:
            cur = await conn.execute(
                "select id::text, email, encrypted_password, banned_until from auth.users"
                " where lower(email) = lower(%s)",
                (email.strip(),),
            )
            row = await cur.fetchone()
        stored = row["encrypted_password"] if row else None
        ok, rehash = await asyncio.to_thread(crypto.verify_password, stored, password)
        if not ok or row is None:
            raise InvalidCredentials()
        now = self.clock()
        if row["banned_until"] is not None and row["banned_until"] > now:
            raise InvalidCredentials()
        new_hash = await asyncio.to_thread(crypto.hash_password, password) if rehash else None
        async with self.db.owner() as conn:
            await conn.execute(
                "update auth.users set last_sign_in_at = %s,"
                " encrypted_password = coalesce(%s, encrypted_password) where id = %s",
                (now, new_hash, row["id"]),
            )
        return Identity(user_id=row["id"], email=row["email"], provider_state={"aal": "aal1"})

    async def list_factors(self, identity: Identity) -> list[Factor]:
        async with self.db.owner() as conn:
            cur = await conn.execute(
                "select id::text, status, friendly_name, created_at from auth.mfa_factors"
                " where user_id = %s order by created_at",
                (identity.user_id,),
            )
            rows = await cur.fetchall()
        return [Factor(r["id"], r["status"], r["friendly_name"], r["created_at"]) for r in rows]

    async def enroll(
        self, identity: Identity, *, friendly_name: str = "Authenticator app"
    ) -> Enrollment:
        secret = crypto.new_totp_secret()
        now = self.clock()
        async with self.db.owner() as conn:
            # Abandoned attempts never pile up: one unverified factor at a time.
            await conn.execute(
                "delete from auth.mfa_factors where user_id = %s and status = 'unverified'",
                (identity.user_id,),
            )
            cur = await conn.execute(
                "insert into auth.mfa_factors (user_id, friendly_name, secret, created_at,"
                " updated_at) values (%s, %s, %s, %s, %s) returning id::text",
                (identity.user_id, friendly_name, self.box.encrypt(secret), now, now),
            )
            row = await cur.fetchone()
        assert row is not None
        return Enrollment(row["id"], secret, crypto.provisioning_uri(secret, identity.email))

    async def verify(self, identity: Identity, factor_id: str, code: str) -> Identity:
        now = self.clock()
        async with self.db.owner() as conn:
            cur = await conn.execute(
                "select secret, status from auth.mfa_factors where id = %s and user_id = %s"
                " for update",
                (factor_id, identity.user_id),
            )
            factor = await cur.fetchone()
            if factor is None:
                raise InvalidCode("This authenticator is no longer enrolled. Sign in again.")
            step = crypto.matching_step(self.box.decrypt(factor["secret"]), code, now)
            if step is None:
                raise InvalidCode()
            params: dict[str, Any] = {
                "factor_id": factor_id,
                "user_id": identity.user_id,
                "step": step,
                "now": now,
            }
            if await (await conn.execute(_ACCEPT_STEP, params)).fetchone() is None:
                raise ReplayedCode()
            if factor["status"] == "unverified":
                await self._promote(conn, identity.user_id, factor_id, now)
        return Identity(
            identity.user_id, identity.email, {**identity.provider_state, "aal": "aal2"}
        )

    @staticmethod
    async def _promote(conn: Any, user_id: str, factor_id: str, now: Any) -> None:
        await conn.execute(
            "update auth.mfa_factors set status = 'verified', updated_at = %s where id = %s",
            (now, factor_id),
        )
        await conn.execute(
            "delete from admin_private.totp_steps where user_id = %s and factor_id <> %s",
            (user_id, factor_id),
        )
        await conn.execute(
            "delete from auth.mfa_factors where user_id = %s and id <> %s", (user_id, factor_id)
        )

    async def unenroll(self, identity: Identity, factor_id: str) -> None:
        async with self.db.owner() as conn:
            await conn.execute(
                "delete from admin_private.totp_steps where factor_id = %s", (factor_id,)
            )
            await conn.execute(
                "delete from auth.mfa_factors where id = %s and user_id = %s",
                (factor_id, identity.user_id),
            )

    async def get_authenticator_assurance_level(self, identity: Identity) -> AssuranceLevel:
        factors = await self.list_factors(identity)
        has_factor = any(f.status == "verified" for f in factors)
        current: Aal = "aal2" if identity.provider_state.get("aal") == "aal2" else "aal1"
        return AssuranceLevel(current, "aal2" if has_factor else "aal1")
