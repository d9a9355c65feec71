"""The actions on businesses, for the business pages:

- `change_status(actor, id, new, allowed_from, action)`: requeue or skip one business;
- `retry_outreach(actor, id)`: outreach back to `pending` (set_outreach_status), never
  for a paid (claimed) business;
- `requeue_failed(actor, expected, fresh_code=...)`: every failed business back to the
  queue, after a fresh authenticator code (see `dashboard.actions.automation`).
Each returns an error message for the admin (nothing written), or None / a count.
The writes and their audit rows are `dashboard.data.businesses`'.
"""

from __future__ import annotations

from collections.abc import Sequence

from dashboard.actions.automation import FreshCode
from dashboard.auth.actor import Actor
from dashboard.data import businesses
from dashboard.runtime import get_runtime

RETRY_OUTREACH_FROM = ("failed", "stopped", "skipped", "bounced")
NO_SITE = "This business has no deployed site yet, so there is no outreach to retry."


def status_refusal(allowed_from: Sequence[str], action: str) -> str:
    return f"Only {' or '.join(allowed_from)} businesses can be {action}"


PAID = (
    "This business has paid for its site, so outreach to it stays stopped:"
    " retrying would email an owner who is already a customer."
)


def outreach_refusal(outreach_status: str, claimed: bool = False) -> str | None:
    """Why outreach in `outreach_status` cannot be retried; None when it can. A paid
    (claimed) business never gets outreach again, whatever its outreach status."""
    if claimed:
        return PAID
    if outreach_status in RETRY_OUTREACH_FROM:
        return None
    allowed = f"{', '.join(RETRY_OUTREACH_FROM[:-1])} or {RETRY_OUTREACH_FROM[-1]}"
    return f"Outreach is {outreach_status}; only {allowed} outreach can be retried."


async def change_status(
    actor: Actor, business_id: int, new: str, allowed_from: Sequence[str], action: str
) -> str | None:
    """Move one business to `new` when its status allows; an error message otherwise."""
    db = get_runtime().db
    before = await businesses.set_status(db, actor, business_id, new, allowed_from, action)
    if before is None:
        return f"{status_refusal(allowed_from, action)}: nothing changed."
    return None


async def retry_outreach(actor: Actor, business_id: int) -> str | None:
    """Outreach of a deployed business back to `pending`, so the sweeper starts it again."""
    db = get_runtime().db
    found = await businesses.set_outreach_pending(db, actor, business_id, RETRY_OUTREACH_FROM)
    if found is None:
        return NO_SITE
    return outreach_refusal(*found)


async def requeue_failed(actor: Actor, expected: int, *, fresh_code: FreshCode) -> int:
    """Requeue every failed business (the admin was shown `expected`) after a fresh code
    (it touches every failed row at once); how many moved."""
    await fresh_code(f"requeuing {expected:,} failed business(es)")
    return await businesses.requeue_all_failed(get_runtime().db, actor, expected)
