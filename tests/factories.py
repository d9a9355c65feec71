"""Rows for tests, made one way: businesses (pipeline rows and their qualified, deployed
sites), identification targets, and counts of what a test wrote.

Each factory writes straight into the tables (as the owner), the way the real code
would leave them, so a test sets up only the state it is about. Grouped by how a test
reaches the database: a sync psycopg connection, a URL, a backend or the app's runtime.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql as pgsql

from dashboard.backends.base import Caller, Filter
from dashboard.backends.postgres import PostgresBackend
from dashboard.data import queue
from dashboard.data.models import PipelineBusiness
from dashboard.runtime import Runtime
from tests.dbutil import sql

Conn = psycopg.Connection[Any]


# --- counts ------------------------------------------------------------------------


def count(url: str, query: str) -> int:
    """The `n` column of a `select count(*) as n ...` query."""
    return int(sql(url, query)[0]["n"])


def count_rows(url: str, table: str, **eq: Any) -> int:
    """How many rows of `public.<table>` have these column values (all rows if none)."""
    where = pgsql.SQL(" and ").join(
        pgsql.SQL("{} = %s").format(pgsql.Identifier(column)) for column in eq
    )
    query = pgsql.SQL("select count(*) as n from public.{}{}").format(
        pgsql.Identifier(table), pgsql.SQL(" where ") + where if eq else pgsql.SQL("")
    )
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(query, list(eq.values())).fetchone()
    assert row is not None
    return int(row[0])


# --- rows that are not written -----------------------------------------------------


def business_row(place_id: str) -> dict[str, str]:
    """The columns of a new pipeline business, for `backend.insert`."""
    return {"place_id": place_id, "name": "Baker", "category": "baker", "city": "Bath",
            "region": "England"}  # fmt: skip


def business_model(**fields: object) -> PipelineBusiness:
    """A started pipeline business as the worker reads it (Rossi Plumbing, Clifton NJ)."""
    now = datetime.now(UTC)
    values: dict[str, object] = {
        "id": 1, "place_id": "ChIJabc", "name": "Rossi Plumbing", "category": "plumber",
        "city": "Clifton", "region": "NJ", "address": "1 Main St, Clifton, NJ",
        "phone": "(973) 555-0100", "email": "info@rossi.example", "rating": 4.5,
        "review_count": 12, "status": "started", "created_at": now, "updated_at": now,
    }  # fmt: skip
    values.update(fields)
    return PipelineBusiness.model_validate(values)


# --- through a sync connection -----------------------------------------------------


def _is_sql(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("now()")


def insert(conn: Conn, table: str, **cols: Any) -> int:
    """Insert one row; values starting with now() are SQL expressions."""
    values = [pgsql.SQL(v) if _is_sql(v) else pgsql.Placeholder() for v in cols.values()]
    query = pgsql.SQL("insert into public.{} ({}) values ({}) returning id").format(
        pgsql.Identifier(table),
        pgsql.SQL(", ").join(map(pgsql.Identifier, cols)),
        pgsql.SQL(", ").join(values),
    )
    row = conn.execute(query, [v for v in cols.values() if not _is_sql(v)]).fetchone()
    assert row is not None
    return int(row[0])


def business(conn: Conn, place_id: str, status: str = "queued", **cols: Any) -> int:
    """A pipeline business (Biz <place_id>, an Austin TX plumber); returns its id."""
    base = {"name": f"Biz {place_id}", "city": "Austin", "region": "TX", "category": "plumber"}
    return insert(conn, "pipeline_businesses", place_id=place_id, status=status, **base | cols)


def deployed(conn: Conn, code: str, **cols: Any) -> str:
    """A deployed business with its qualified row (uuid `code`); returns the uuid."""
    pid = business(
        conn, f"p-{code}", "deployed", finished_at="now()", started_at="now()", attempts=1
    )
    base = {"place_id": f"p-{code}", "name": "Biz", "category": "plumber", "city": "Austin"}
    base |= {"region": "TX", "preview_url": f"/sites/{code}/", "deployed_at": "now()"}
    insert(conn, "qualified_businesses", uuid=code, pipeline_business_id=pid, **base | cols)
    return code


# --- through a URL -----------------------------------------------------------------


def seed_queued(url: str, count: int, prefix: str = "biz") -> None:
    """`count` queued businesses, `<prefix>-1` ... (Business 1, a Clifton NJ plumber)."""
    sql(
        url,
        "insert into public.pipeline_businesses (place_id, name, category, city, region)"
        " select %s || '-' || g, 'Business ' || g, 'plumber', 'Clifton', 'NJ'"
        " from generate_series(1, %s) g",
        (prefix, count),
    )


def seed_targets(url: str, *targets: tuple[str, str, str]) -> None:
    """Identification targets (city, region, category), in this order."""
    for position, (city, region, category) in enumerate(targets, start=1):
        sql(
            url,
            "insert into public.identification_targets (position, city, region, category)"
            " values (%s, %s, %s, %s)",
            (position, city, region, category),
        )


# --- through a backend -------------------------------------------------------------

ADMIN = Caller(sub="5d6f7c1e-2b3a-4c5d-8e9f-0a1b2c3d4e5f", email="admin@example.com")
"""An AAL2-less admin caller for RPCs that record who acted."""


async def audit_rows(backend: PostgresBackend) -> list[dict[str, Any]]:
    """Every audit row, oldest first."""
    async with backend.owner() as conn:
        cur = await conn.execute("select * from public.admin_audit_log order by id")
        return await cur.fetchall()


async def deploy_one(backend: PostgresBackend) -> tuple[int, str]:
    """A business (Trigger Ltd, Bath) claimed and deployed through the queue RPCs;
    returns the site's id and uuid."""
    async with backend.owner() as conn:
        await conn.execute(
            "insert into public.pipeline_businesses (place_id, name, category, city, region)"
            " values ('t-' || gen_random_uuid(), 'Trigger Ltd', 'baker', 'Bath', 'England')"
        )
    claim = await queue.claim_next_business(backend, "w")
    assert claim is not None and claim.claim_token is not None
    site = await queue.mark_business_deployed(backend, claim.id, "s/{uuid}", claim.claim_token)
    return site.id, site.uuid


async def add_businesses(backend: PostgresBackend, n: int, **columns: object) -> list[int]:
    """Insert n queued businesses (as the owner); return their ids in order."""
    names = ", ".join(columns)
    values = ", ".join(["%s"] * len(columns))
    extra_cols = f", {names}" if columns else ""
    extra_vals = f", {values}" if columns else ""
    async with backend.owner() as conn:
        cur = await conn.execute(
            "insert into public.pipeline_businesses (place_id, name, category, city, region"
            f"{extra_cols}) select 'place-' || gen_random_uuid(), 'Business ' || g, 'plumber',"
            f" 'Bristol', 'England'{extra_vals} from generate_series(1, %s) g returning id",
            [*columns.values(), n],
        )
        return [r["id"] for r in await cur.fetchall()]


# --- through the app's runtime -----------------------------------------------------


async def add_business(runtime: Runtime, n: int, **extra: Any) -> int:
    """Bakery <n> (place-<n>, Clifton NJ); returns its id."""
    row = {
        "place_id": f"place-{n}",
        "name": f"Bakery {n}",
        "category": "bakery",
        "city": "Clifton",
        "region": "NJ",
        **extra,
    }
    [created] = await runtime.api.insert("pipeline_businesses", [row])
    return int(created["id"])


async def add_site(runtime: Runtime, business_id: int, **extra: Any) -> dict[str, Any]:
    """The deployed site (qualified row, uuid abcd1234) of the bakery `add_business` made."""
    [row] = await runtime.api.insert(
        "qualified_businesses",
        [{"pipeline_business_id": business_id, "uuid": "abcd1234", "name": "Bakery 1",
          "place_id": "place-1", "category": "bakery", "city": "Clifton", "region": "NJ",
          "preview_url": "https://x.test/abcd1234", **extra}],
    )  # fmt: skip
    return row


async def status_of(runtime: Runtime, business_id: int) -> str:
    """A pipeline business's status, read through the app's backend."""
    rows = (
        await runtime.api.select("pipeline_businesses", filters=[Filter("id", "eq", business_id)])
    ).rows
    return str(rows[0]["status"])


async def audit_actions(runtime: Runtime) -> list[str]:
    """The action of every audit row, in the order the backend returns them."""
    return [r["action"] for r in (await runtime.api.select("admin_audit_log")).rows]
