"""`Actor`: the admin an action is done for, as every audit row names them (`actor_id`,
`actor_email`), whichever way the action came in: a page (`components.guard
.acting_admin()`), the admin API (the session), or the command line (`--as EMAIL`,
looked up by `admin_actor`)."""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.backends.base import Caller
from dashboard.backends.postgres import PostgresBackend


@dataclass(frozen=True)
class Actor:
    """Who is acting, as written to the audit log and to `requested_by`."""

    id: str | None
    email: str

    def caller(self) -> Caller:
        """The service role acting for this admin, so audits written in SQL name them."""
        return Caller(role="service_role", sub=self.id, email=self.email)


class UnknownAdmin(LookupError):
    """No admin has that email; the message says how to list them."""


async def admin_actor(db: PostgresBackend, email: str) -> Actor:
    """The admin with `email` (any case), for actions from the command line."""
    async with db.owner() as conn:
        cur = await conn.execute(
            "select id::text as id, email from auth.users where lower(email) = lower(%s)",
            (email.strip(),),
        )
        row = await cur.fetchone()
    if row is None:
        raise UnknownAdmin(f"no admin with email {email.strip()}: see `cliftonsites admin list`")
    return Actor(id=str(row["id"]), email=str(row["email"]))
