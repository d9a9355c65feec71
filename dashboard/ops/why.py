""" "Why" for one business: where it stands in the pipeline, outreach and payment, and
what holds it there, worked out from the data alone.

`explain_business(conn, key)` reads (as the owner) and returns an `Explanation`
whose `text` the command line prints and the business detail page shows, e.g.
"queued, 1,234 ahead of it; implementation paused since 12:03 UTC by admin@…".
The facts are read here; the sentences they make are the rules of `why_rules.py`.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row

from dashboard.ops.why_rules import Facts, Record, pipeline_reasons, qualified_reasons


class BusinessNotFound(LookupError):
    pass


@dataclass
class Explanation:
    status: str
    summary: str
    details: list[str]

    @property
    def text(self) -> str:
        return "\n".join([self.summary, *(f"  - {d}" for d in self.details)])


def explain_business(conn: psycopg.Connection[Any], key: str) -> Explanation:
    return explain(read_facts(conn, key))


async def explain_business_at(url: str, key: str) -> Explanation:
    """For pages: the same explanation, read on a worker thread."""

    def run() -> Explanation:
        with psycopg.connect(url, autocommit=True) as conn:
            return explain_business(conn, key)

    return await asyncio.to_thread(run)


def explain(facts: Facts) -> Explanation:
    """The summary line holds the state and what blocks it; details hold the rest."""
    reasons = pipeline_reasons(facts)
    if facts.qualified is not None:
        reasons.extend(qualified_reasons(facts))
    return Explanation(facts.business["status"], "; ".join(reasons.main), reasons.more)


def find_business(cur: psycopg.Cursor[Record], key: str) -> Record:
    key = key.strip()
    queries = []
    if re.fullmatch(r"[a-z0-9]{8}", key):
        queries.append(
            "select p.* from public.pipeline_businesses p join public.qualified_businesses q"
            " on q.pipeline_business_id = p.id where q.uuid = %s"
        )
    queries.append("select * from public.pipeline_businesses where place_id = %s")
    if key.isdigit():
        queries.append("select * from public.pipeline_businesses where id = %s::bigint")
    for query in queries:
        row = cur.execute(query, (key,)).fetchone()
        if row is not None:
            return row
    raise BusinessNotFound(
        f"no business with uuid, place_id or id {key!r}: check the value"
        " (search with `cliftonsites queue` or the businesses page)"
    )


def read_facts(conn: psycopg.Connection[Any], key: str) -> Facts:
    with conn.cursor(row_factory=dict_row) as cur:
        business = find_business(cur, key)
        facts = Facts(
            now=_one(cur, "select now() as now")["now"],
            business=business,
            qualified=cur.execute(
                "select * from public.qualified_businesses where pipeline_business_id = %s",
                (business["id"],),
            ).fetchone(),
            config=_one(cur, "select * from public.automation_config"),
            implementation=cur.execute(
                "select *, extract(epoch from now() - last_heartbeat_at) as heartbeat_age"
                " from public.automation_status where process = 'implementation'"
            ).fetchone(),
        )
        if business["status"] == "queued":
            _queue_facts(cur, facts)
        _history_facts(cur, facts)
    return facts


def _one(cur: psycopg.Cursor[Record], query: str) -> Record:
    row = cur.execute(query).fetchone()
    if row is None:
        raise BusinessNotFound(f"the database is missing a required row ({query})")
    return row


def _queue_facts(cur: psycopg.Cursor[Record], facts: Facts) -> None:
    b = facts.business
    facts.ahead = _one_value(
        cur,
        "select count(*) from public.pipeline_businesses where status = 'queued'"
        " and (priority > %(p)s or (priority = %(p)s and (created_at, id) < (%(c)s, %(i)s)))",
        {"p": b["priority"], "c": b["created_at"], "i": b["id"]},
    )
    facts.deployed_today = _one_value(
        cur,
        "select count(*) from public.qualified_businesses"
        " where deployed_at >= date_trunc('day', now() at time zone 'utc') at time zone 'utc'",
        {},
    )
    facts.last_pause = cur.execute(
        "select command, requested_by, created_at from public.automation_commands"
        " where process = 'implementation' and command in ('pause', 'stop', 'start', 'resume')"
        " order by created_at desc, id desc limit 1"
    ).fetchone()


def _one_value(cur: psycopg.Cursor[Record], query: str, params: dict[str, Any]) -> int:
    row = cur.execute(query, params).fetchone()
    return int(next(iter(row.values()))) if row else 0


def _history_facts(cur: psycopg.Cursor[Record], facts: Facts) -> None:
    facts.last_error_log = cur.execute(
        "select created_at, process, message from public.automation_logs"
        " where business_id = %s and level = 'error' order by id desc limit 1",
        (facts.business["id"],),
    ).fetchone()
    if facts.qualified is not None:
        facts.stripe_failures = cur.execute(
            "select id, type, error, received_at from public.stripe_events"
            " where qualified_business_id = %s and status = 'failed' order by received_at desc",
            (facts.qualified["id"],),
        ).fetchall()
