"""`cliftonsites db seed`: realistic demo data, written with COPY in one transaction.

The seed is an admin tool: it connects with psycopg straight to the URL (as the
owner), never through the API roles. It only seeds an empty database (no businesses
and no identification targets); anything else is left exactly as it is. While it
runs, outreach is switched off inside its own transaction so that the
`outreach_on_deployed` trigger does not start thousands of campaigns (with `pg_net`
on Supabase that would be thousands of HTTP calls); the app's outreach sweeper picks
up the few `pending` ones later, as it would in production.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import click
import psycopg

from dashboard.data.models import PipelineBusiness
from dashboard.data.sites import content_type_of
from dashboard.seed import rows
from dashboard.seed import vocabulary as vocab
from dashboard.seed.rows import Builder, Row
from dashboard.worker.sites import render_site, site_css

Progress = Callable[[int], None]
CHUNK = 20_000
MAX_BUSINESSES = 10_000_000
#: Seeded businesses whose site is up (deployed, active) get its files, so "open site"
#: shows a page; up to this many, so a benchmark's million-row seed stays small (the
#: rest then answer 404 as a site whose files were removed would).
MAX_SEEDED_SITES = 20_000
SITE_STATES = ("deployed", "active")
DEMO_BUSINESSES = 3_000
DEMO_TARGETS = 120
#: Tables the seed writes; locked for its transaction so no id can collide.
TABLES = (
    "identification_targets", "pipeline_businesses", "qualified_businesses",
    "outreach_events", "stripe_events", "stripe_idempotency", "automation_runs",
    "automation_logs",
)  # fmt: skip


class SeedError(RuntimeError):
    """Bad arguments or a database the seed cannot write to; nothing was written."""


@dataclass
class SeedReport:
    seeded: bool
    message: str
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def validate(businesses: int, targets: int) -> None:
    if not 1 <= businesses <= MAX_BUSINESSES:
        raise SeedError(f"--businesses must be between 1 and {MAX_BUSINESSES:,}")
    try:
        vocab.target_grid(targets)
    except ValueError as exc:
        raise SeedError(str(exc)) from None
    if targets > businesses:
        raise SeedError("--targets may not exceed --businesses (each active target needs one)")


def emptiness(conn: psycopg.Connection[Row]) -> str | None:
    """Why the database is not empty enough to seed, or None."""
    found = conn.execute(
        "select (select count(*) from (select 1 from public.pipeline_businesses limit 1) b),"
        " (select count(*) from (select 1 from public.identification_targets limit 1) t)"
    ).fetchone()
    if found is None or found[0]:
        return "the database already holds businesses: left as it is (seed only fills an empty one)"
    if found[1]:
        return "the database already has identification targets: left as it is"
    return None


def seed_database(
    url: str,
    *,
    businesses: int,
    targets: int,
    seed: int = 42,
    progress: Progress | None = None,
    now: datetime | None = None,
    sites_url: str | None = None,
) -> SeedReport:
    """Seed an empty database; a non-empty one is left alone (`seeded` is False).
    `sites_url` (Settings.sites_url) makes the seeded preview_urls absolute, so the
    links outreach sends for seeded businesses open; without it they stay relative."""
    validate(businesses, targets)
    began = time.perf_counter()
    try:
        with psycopg.connect(url) as conn, conn.transaction():
            conn.execute(f"lock table {', '.join('public.' + t for t in TABLES)} in exclusive mode")
            reason = emptiness(conn)
            if reason:
                return SeedReport(False, reason)
            counts = _seed(
                conn, businesses, targets, seed, progress, now or datetime.now(UTC), sites_url
            )
    except psycopg.Error as exc:
        raise SeedError(f"seeding failed and was rolled back: {str(exc).strip()}") from exc
    seconds = time.perf_counter() - began
    summary = ", ".join(f"{n:,} {name}" for name, n in counts.items())
    return SeedReport(True, f"seeded {summary} in {seconds:.1f} s", counts, seconds)


def _seed(
    conn: psycopg.Connection[Row],
    businesses: int,
    targets: int,
    seed: int,
    progress: Progress | None,
    now: datetime,
    sites_url: str | None = None,
) -> dict[str, int]:
    outreach_was = conn.execute("select outreach_enabled from public.automation_config").fetchone()
    if outreach_was is None:
        raise SeedError("automation_config has no row: run `cliftonsites db migrate` first")
    conn.execute("update public.automation_config set outreach_enabled = false")
    cells = vocab.target_grid(targets)
    target_base = _first_id(conn, "identification_targets")
    builder = Builder(
        rng=random.Random(seed),
        now=now,
        businesses=businesses,
        targets=[(target_base + k, *cell) for k, cell in enumerate(cells)],
        first_business_id=_first_id(conn, "pipeline_businesses"),
        first_run_id=_first_id(conn, "automation_runs"),
        next_qualified_id=_first_id(conn, "qualified_businesses"),
        site_base=(sites_url or "").rstrip("/"),
    )
    counts = {"targets": _copy(conn, "identification_targets", rows.TARGET_COLUMNS,
                               builder.target_rows(target_base, cells))}  # fmt: skip
    runs, run_logs = builder.run_rows()
    counts["runs"] = _copy(conn, "automation_runs", rows.RUN_COLUMNS, runs)
    counts["logs"] = _copy(conn, "automation_logs", rows.LOG_COLUMNS, run_logs)
    # files left by sites whose businesses are gone (nothing serves them) would collide
    # with a seeded site's uuid
    conn.execute(
        "delete from admin_private.site_files f where not exists"
        " (select 1 from public.qualified_businesses q where q.uuid = f.uuid)"
    )
    for name, n in _businesses(conn, builder, progress).items():
        counts[name] = counts.get(name, 0) + n
    _settle_ids(conn, builder, counts)
    conn.execute(
        "update public.identification_targets t set businesses_found = c.n"
        " from (select target_id, count(*)::int n from public.pipeline_businesses"
        " group by target_id) c where t.id = c.target_id"
    )
    conn.execute("update public.automation_config set outreach_enabled = %s", (outreach_was[0],))
    for table in TABLES:
        conn.execute(f"analyze public.{table}")
    return counts


def _businesses(
    conn: psycopg.Connection[Row], builder: Builder, progress: Progress | None
) -> dict[str, int]:
    """The businesses and everything hanging off them, one chunk at a time."""
    counts = dict.fromkeys(("businesses", "qualified", "outreach_events", "stripe_events"), 0)
    counts["logs"] = counts["sites"] = 0
    for lo in range(0, builder.businesses, CHUNK):
        hi = min(builder.businesses, lo + CHUNK)
        chunk = builder.chunk(lo, hi)
        counts["businesses"] += _copy(
            conn, "pipeline_businesses", rows.PIPELINE_COLUMNS, chunk.pipeline
        )
        counts["qualified"] += _copy(
            conn, "qualified_businesses", rows.QUALIFIED_COLUMNS, chunk.qualified
        )
        counts["sites"] += _copy_sites(
            conn, chunk.qualified, MAX_SEEDED_SITES - counts["sites"], builder.now
        )
        counts["outreach_events"] += _copy(
            conn, "outreach_events", rows.OUTREACH_COLUMNS, chunk.outreach
        )
        counts["stripe_events"] += _copy(conn, "stripe_events", rows.STRIPE_COLUMNS, chunk.stripe)
        _copy(conn, "stripe_idempotency", rows.IDEMPOTENCY_COLUMNS, chunk.idempotency)
        counts["logs"] += _copy(conn, "automation_logs", rows.LOG_COLUMNS, chunk.logs)
        if progress is not None:
            progress(hi - lo)
    return counts


def _copy(
    conn: psycopg.Connection[Row], table: str, columns: Sequence[str], data: Sequence[Row]
) -> int:
    if not data:
        return 0
    statement = f"copy public.{table} ({', '.join(columns)}) from stdin"
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for row in data:
            copy.write_row(row)
    return len(data)


def _copy_sites(
    conn: psycopg.Connection[Row], qualified: Sequence[Row], room: int, now: datetime
) -> int:
    """The files of up to `room` seeded sites that are up, built as the worker builds
    them (the claim link is relative: a site is served on the sites' own origin)."""
    columns = rows.QUALIFIED_COLUMNS
    css = site_css().encode()
    css_tag = hashlib.sha256(css).hexdigest()
    written = 0
    statement = "copy admin_private.site_files (uuid, name, content, content_type, etag) from stdin"
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for row in qualified:
            q = dict(zip(columns, row, strict=True))
            if written >= room or q["site_status"] not in SITE_STATES:
                continue
            business = PipelineBusiness.model_validate(
                {
                    **q,
                    "id": q["pipeline_business_id"],
                    "status": "deployed",
                    "created_at": now,
                    "updated_at": now,
                }
            )
            html = render_site(business, q["uuid"], claim_url=f"/claim/{q['uuid']}").encode()
            copy.write_row((q["uuid"], "index.html", html, content_type_of("index.html"),
                            hashlib.sha256(html).hexdigest()))  # fmt: skip
            copy.write_row((q["uuid"], "site.css", css, content_type_of("site.css"), css_tag))
            written += 1
    return written


def _sequence(table: str) -> str:
    return f"pg_get_serial_sequence('public.{table}', 'id')"


def _first_id(conn: psycopg.Connection[Row], table: str) -> int:
    """The next identity value; the table is locked, so ids from here on are ours."""
    row = conn.execute(f"select nextval({_sequence(table)})").fetchone()
    assert row is not None
    return int(row[0])


def _settle_ids(conn: psycopg.Connection[Row], builder: Builder, counts: dict[str, int]) -> None:
    """Move each identity sequence past the ids the seed wrote explicitly."""
    last = {
        "identification_targets": builder.targets[0][0] + counts["targets"] - 1,
        "pipeline_businesses": builder.first_business_id + counts["businesses"] - 1,
        "automation_runs": builder.first_run_id + counts["runs"] - 1,
        "qualified_businesses": builder.next_qualified_id - 1,
    }
    for table, value in last.items():
        conn.execute(f"select setval({_sequence(table)}, greatest(%s, 1))", (value,))


def ensure_demo_data(url: str, sites_url: str | None = None) -> SeedReport:
    """`make demo`: a few thousand businesses in every state, only into an empty database."""
    report = seed_database(
        url, businesses=DEMO_BUSINESSES, targets=DEMO_TARGETS, sites_url=sites_url
    )
    click.echo(f"demo data: {report.message}")
    return report


def run_cli_seed(url: str, businesses: int, targets: int, seed: int, *, tty: bool) -> SeedReport:
    """The `db seed` command body: a progress bar on a terminal, quiet otherwise."""
    if not tty:
        return seed_database(url, businesses=businesses, targets=targets, seed=seed)
    with click.progressbar(length=businesses, label="seeding businesses", width=36) as bar:
        return seed_database(
            url, businesses=businesses, targets=targets, seed=seed, progress=bar.update
        )
