"""SQL-side speed check: the dashboard reads at 1,000,000 businesses and claim TPS
against pgbench, on one server, in one run, with the load average beside each figure.

It seeds (once) `perf_sql` with `cliftonsites db seed --businesses 1000000` and keeps
it, so later runs start measuring at once; claims run in a fresh `perf_claims`
(200,000 queued rows) beside pgbench's own `perf_pgbench` (scale 10). Reads go the
way the app sends them: one transaction setting PostgREST's role and claims, then
the call.

`--before` also measures the design as first shipped, in the same run: the reads with
the original v_queue_status and get_queue_statistics (created inside a transaction
that is rolled back), and the claims with the NOTIFY trigger that notifies every
statement (put back afterwards).

Run: .venv/bin/python -m bench.perf_sql [--url postgresql://postgres@127.0.0.1:5432/postgres]
     [--seconds 10] [--rounds 40] [--before] [--reseed] [--skip-reads] [--skip-claims] [--drop]
Without --url it uses its own embedded server in .data/perf-pg.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from bench.claims import CLAIM_SCRIPT, prepare_queue
from bench.common import ROOT, progress, quantiles
from tests.dbutil import with_dbname

BUSINESSES = 1_000_000
CLIENTS = 16
SERVICE = (
    "select set_config('role', 'service_role', true),"
    " set_config('request.jwt.claims', '{\"role\": \"service_role\"}', true)"
)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def fresh_database(admin_url: str, name: str, *, keep: bool = False) -> tuple[str, bool]:
    """(url, created): a migrated database `name`; kept as it is when `keep` and present."""
    from dashboard.backends.migrate import migrate

    with psycopg.connect(admin_url, autocommit=True) as conn:
        found = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
        created = not (keep and found)
        if created:
            conn.execute(f'drop database if exists "{name}" with (force)')
            conn.execute(f'create database "{name}"')
    url = with_dbname(admin_url, name)
    migrate(url)
    return url, created


def seeded(admin_url: str, reseed: bool) -> str:
    url, created = fresh_database(admin_url, "perf_sql", keep=not reseed)
    with psycopg.connect(url) as conn:
        row = conn.execute("select count(*) from public.pipeline_businesses").fetchone()
    if created or row is None or row[0] != BUSINESSES:
        url, _ = fresh_database(admin_url, "perf_sql")
        progress(f"seeding {BUSINESSES:,} businesses with cliftonsites db seed (minutes)")
        cli = str(ROOT / ".venv" / "bin" / "cliftonsites")
        subprocess.run([cli, "db", "seed", "--database-url", url, "--businesses",
                        str(BUSINESSES), "--targets", "500"], check=True)  # fmt: skip
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("vacuum (analyze)")
    return url


MIGRATIONS = ROOT / "supabase" / "migrations"
PER_STATEMENT_TRIGGER = (
    "drop trigger cs_realtime_update on public.pipeline_businesses;"
    " create trigger cs_realtime_update after update on public.pipeline_businesses"
    " referencing new table as new_rows for each statement"
    " execute function realtime.cs_notify_change()"
)


def original_reads() -> str:
    """v_queue_status and get_queue_statistics exactly as the first migrations made them."""
    views = (MIGRATIONS / "20261125000300_create_views.sql").read_text()
    queue = (MIGRATIONS / "20261125000400_create_queue_functions.sql").read_text()
    view = views[views.index("create view public.v_queue_status") :]
    view = view[: view.index("comment on view")]
    function = queue[queue.index("create function public.get_queue_statistics()") :]
    function = function[: function.index("comment on function")]
    return (
        "drop view public.v_queue_status;"
        + view
        + function.replace("create function", "create or replace function", 1)
    )


def timed(conn: psycopg.Connection[Any], query: str, args: Any, rounds: int) -> dict[str, float]:
    samples = []
    for i in range(rounds + 3):
        began = time.perf_counter()
        with conn.transaction():
            conn.execute(SERVICE)
            conn.execute(query, args).fetchall()
        if i >= 3:  # the first three warm the plan cache and buffers
            samples.append((time.perf_counter() - began) * 1000)
    return quantiles(samples)


def reads(url: str, rounds: int, *, original: bool = False) -> dict[str, dict[str, float]]:
    with psycopg.connect(url, autocommit=not original) as conn:
        if original:  # rolled back when the connection closes without a commit
            conn.execute(original_reads())
        row = conn.execute(
            "select id from public.pipeline_businesses order by id offset %s limit 1",
            (BUSINESSES // 20,),
        ).fetchone()
        deep = row[0] if row else 1
        calls = {
            "select 1 (same path, baseline)": ("select 1", None),
            "get_dashboard_snapshot()": ("select public.get_dashboard_snapshot()", None),
            "get_queue_statistics()": ("select public.get_queue_statistics()", None),
            "search_businesses first page": ("select * from public.search_businesses()", None),
            f"search_businesses deep page (id < {deep})": (
                "select * from public.search_businesses(p_before_id => %s)", (deep,)),
            "search_businesses 'plumb'": (
                "select * from public.search_businesses('plumb')", None),
        }  # fmt: skip
        out = {}
        for name, (query, args) in calls.items():
            out[name] = timed(conn, query, args, rounds) | {"load": load()}  # type: ignore[dict-item]
            print(f"  {name:45s} p50 {out[name]['p50']:8.2f} ms  p95 {out[name]['p95']:8.2f} ms"
                  f"  (load {out[name]['load']})", flush=True)  # fmt: skip
        conn.rollback()  # never keep the original definitions
    return out


def pgbench(url: str, seconds: int, *args: str) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("vacuum analyze")
    cmd = ["pgbench", "--no-vacuum", "-c", str(CLIENTS), "-j", "2", "-T", str(seconds), *args, url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"pgbench failed: {out.stderr.strip()[-800:]}")
    for line in out.stdout.splitlines():
        if line.startswith("tps = ") and "without initial connection time" in line:
            return float(line.split()[2])
    raise RuntimeError(f"no tps in pgbench output: {out.stdout[-800:]}")


def claims(admin_url: str, seconds: int, drop: bool, before: bool) -> dict[str, float]:
    if shutil.which("pgbench") is None:
        raise SystemExit("pgbench is missing: apt-get install postgresql-client, then run again")
    from dashboard.backends.migrate import migrate

    url, _ = fresh_database(admin_url, "perf_claims")
    prepare_queue(url)
    pg_url = with_dbname(admin_url, "perf_pgbench")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute('drop database if exists "perf_pgbench" with (force)')
        conn.execute('create database "perf_pgbench"')
    subprocess.run(["pgbench", "-i", "-q", "-s", "10", pg_url], check=True, capture_output=True)
    folder = Path(tempfile.mkdtemp(prefix="perfsql"))
    try:
        (folder / "claim.sql").write_text(CLAIM_SCRIPT)
        base = pgbench(pg_url, seconds, "-b", "simple-update")
        print(f"  pgbench simple-update {CLIENTS} clients    {base:8.0f} tps  (load {load()})")
        if before:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(PER_STATEMENT_TRIGGER)
            old = pgbench(url, seconds, "-f", str(folder / "claim.sql"))
            print(f"  BEFORE claim_next_business (NOTIFY per statement) {old:8.0f} tps"
                  f"  (load {load()})  ratio {old / base:.2f}")  # fmt: skip
            migrate(url)  # puts the coalescing trigger back
        tps = pgbench(url, seconds, "-f", str(folder / "claim.sql"))
        print(f"  claim_next_business {CLIENTS} clients      {tps:8.0f} tps  (load {load()})"
              f"  ratio {tps / base:.2f}")  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if drop:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                for name in ("perf_claims", "perf_pgbench"):
                    conn.execute(f'drop database if exists "{name}" with (force)')
    return {"pgbench_tps": base, "claim_tps": tps, "ratio": round(tps / base, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="admin URL of the server (default: embedded .data/perf-pg)")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--before", action="store_true", help="also measure the original design")
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--skip-claims", action="store_true")
    parser.add_argument("--skip-reads", action="store_true")
    parser.add_argument("--drop", action="store_true", help="drop the databases afterwards")
    args = parser.parse_args()
    server = None
    admin_url = args.url
    if admin_url is None:
        from dashboard.backends.embedded import start_embedded

        admin_url, server = start_embedded(ROOT / ".data" / "perf-pg")
    try:
        with psycopg.connect(admin_url) as conn:
            version = conn.execute("show server_version").fetchone()
        print(f"server {version[0] if version else '?'}, load {load()}", flush=True)
        if not args.skip_reads:
            url = seeded(admin_url, args.reseed)
            if args.before:
                print("BEFORE (original v_queue_status and get_queue_statistics):")
                reads(url, args.rounds, original=True)
                print("AFTER:")
            reads(url, args.rounds)
        if not args.skip_claims:
            claims(admin_url, args.seconds, args.drop, args.before)
        if args.drop and not args.skip_reads:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute('drop database if exists "perf_sql" with (force)')
    finally:
        if server is not None:
            server.cleanup()


if __name__ == "__main__":
    sys.exit(main())
