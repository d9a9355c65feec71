"""Recovery codes: ten per admin, shown once, stored as keyed hashes, each usable once."""

from __future__ import annotations

from dashboard.auth import crypto
from dashboard.auth.provider import Clock, system_clock
from dashboard.backends.postgres import PostgresBackend


class RecoveryCodes:
    def __init__(
        self, db: PostgresBackend, box: crypto.SecretBox, *, clock: Clock = system_clock
    ) -> None:
        self.db = db
        self.box = box
        self.clock = clock

    async def replace(self, user_id: str) -> list[str]:
        """Discard the old codes and return ten new ones (the only time they are readable)."""
        codes = crypto.new_recovery_codes()
        now = self.clock()
        async with self.db.owner() as conn:
            await conn.execute(
                "delete from admin_private.recovery_codes where user_id = %s", (user_id,)
            )
            async with conn.cursor() as cur:
                await cur.executemany(
                    "insert into admin_private.recovery_codes (user_id, code_hash, created_at)"
                    " values (%s, %s, %s)",
                    [(user_id, self.box.code_hash(c), now) for c in codes],
                )
        return codes

    async def use(self, user_id: str, code: str) -> bool:
        """Spend a code: true once for each right code, in one atomic update."""
        if len(crypto.normalize_recovery_code(code)) != 10:
            return False
        async with self.db.owner() as conn:
            cur = await conn.execute(
                "update admin_private.recovery_codes set used_at = %s where user_id = %s"
                " and code_hash = %s and used_at is null returning id",
                (self.clock(), user_id, self.box.code_hash(code)),
            )
            return await cur.fetchone() is not None

    async def remaining(self, user_id: str) -> int:
        async with self.db.owner() as conn:
            cur = await conn.execute(
                "select count(*) as n from admin_private.recovery_codes"
                " where user_id = %s and used_at is null",
                (user_id,),
            )
            row = await cur.fetchone()
        return int(row["n"]) if row else 0

    async def clear(self, user_id: str) -> None:
        async with self.db.owner() as conn:
            await conn.execute(
                "delete from admin_private.recovery_codes where user_id = %s", (user_id,)
            )
