"""`cliftonsites db migrate`: the local bootstrap where Supabase's pieces are missing, then
every migration in `supabase/migrations/` not yet recorded.

Each migration runs in its own transaction and is recorded in
`supabase_migrations.schema_migrations` (as the Supabase CLI does), so a failing one
leaves nothing half-applied and is reported with its file and the error. An advisory
lock lets several app instances start at once during a rollout.

A project that has no migration history yet (a new Supabase project never touched by
the CLI) gets the CLI's history table created first. Each applied migration's SHA-256
is kept in `supabase_migrations.cliftonsites_checksums`; a file that changed after it
was applied is refused before anything runs, since editing an applied migration
changes nothing in a database that already has it. A migration applied before
checksums were kept (by an older runner or by `supabase db push`) has its file's
checksum recorded the first time the runner sees it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg.rows import TupleRow

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS_DIR = ROOT / "supabase" / "migrations"
LOCAL_DIR = ROOT / "supabase" / "local"
LOCK_KEY = 0x0C11F705  # advisory lock id for migrations
_NAME = re.compile(r"^(\d{14})_([a-z0-9_]+)\.sql$")


class MigrationError(RuntimeError):
    def __init__(self, file: Path, error: str, *, message: str | None = None) -> None:
        super().__init__(message or f"migration {file.name} failed and was rolled back: {error}")
        self.file = file
        self.error = error


class ChangedMigrationError(MigrationError):
    """An applied migration's file no longer matches what was applied."""

    def __init__(self, file: Path, applied: str, now: str) -> None:
        super().__init__(
            file,
            "changed after it was applied",
            message=(
                f"migration {file.name} changed after it was applied (applied sha256"
                f" {applied[:12]}, file now {now[:12]}); nothing was migrated. An applied"
                " migration is never edited: restore the file (git checkout -- "
                f"supabase/migrations/{file.name}) and put the change in a new migration"
            ),
        )


@dataclass
class MigrateReport:
    bootstrapped: bool = False
    applied: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    created_history: bool = False  # the project had no migration history table yet
    checksums_recorded: list[str] = field(default_factory=list)  # applied before checksums


HISTORY_DDL = """
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (
  version text primary key,
  statements text[],
  name text
);
create table if not exists supabase_migrations.cliftonsites_checksums (
  version text primary key,
  sha256 text not null,
  recorded_at timestamptz not null default now()
);
comment on table supabase_migrations.cliftonsites_checksums is
  'SHA-256 of each applied migration file, kept by cliftonsites db migrate to refuse'
  ' a migration edited after it was applied.';
"""


def checksum(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[tuple[str, str, Path]]:
    """(version, name, path) for each migration, in order; a misnamed file is an error."""
    out = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(path, "file name must be <14-digit UTC timestamp>_<what>.sql")
        out.append((match.group(1), match.group(2), path))
    return out


def is_supabase(conn: psycopg.Connection[object]) -> bool:
    """A real Supabase project has its own admin role; we never bootstrap there."""
    row = conn.execute("select 1 from pg_roles where rolname = 'supabase_admin'").fetchone()
    return row is not None


def migrate(
    url: str, *, directory: Path = MIGRATIONS_DIR, local: bool | None = None
) -> MigrateReport:
    report = MigrateReport()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            if local is None:
                local = not is_supabase(conn)
            if local:
                with conn.transaction():
                    conn.execute((LOCAL_DIR / "bootstrap.sql").read_text())
                report.bootstrapped = True
            with conn.transaction():
                report.created_history = _has_no_history(conn)
                if report.created_history and _has_our_schema(conn):
                    raise MigrationError(
                        migration_files(directory)[0][2],
                        "no migration history",
                        message=(
                            "this database has the CliftonSites tables but no migration"
                            " history (supabase_migrations.schema_migrations), so nobody can"
                            " tell which migrations it had; nothing was changed. Record the"
                            " applied ones with `supabase migration repair --status applied"
                            " <version>` (or `cliftonsites doctor`, which prints the insert"
                            " for each), then migrate again"
                        ),
                    )
                conn.execute(HISTORY_DDL)
            done = {
                r[0]
                for r in conn.execute(
                    "select version from supabase_migrations.schema_migrations"
                ).fetchall()
            }
            files = migration_files(directory)
            _check_applied_files(conn, files, done, report)
            for version, name, path in files:
                if version in done:
                    report.already.append(path.name)
                    continue
                body = path.read_text()
                try:
                    with conn.transaction():
                        conn.execute(body)
                        conn.execute(
                            "insert into supabase_migrations.schema_migrations"
                            " (version, name, statements) values (%s, %s, %s)",
                            (version, name, [body]),
                        )
                        conn.execute(
                            "insert into supabase_migrations.cliftonsites_checksums"
                            " (version, sha256) values (%s, %s)",
                            (version, checksum(body)),
                        )
                except psycopg.Error as exc:
                    raise MigrationError(path, str(exc).strip()) from exc
                report.applied.append(path.name)
            if local:
                with conn.transaction():
                    conn.execute((LOCAL_DIR / "after_migrations.sql").read_text())
        finally:
            conn.execute("select pg_advisory_unlock(%s)", (LOCK_KEY,))
    return report


def _has_no_history(conn: psycopg.Connection[TupleRow]) -> bool:
    row = conn.execute("select to_regclass('supabase_migrations.schema_migrations')").fetchone()
    return row is None or row[0] is None


def _has_our_schema(conn: psycopg.Connection[TupleRow]) -> bool:
    row = conn.execute("select to_regclass('public.pipeline_businesses')").fetchone()
    return row is not None and row[0] is not None


def _check_applied_files(
    conn: psycopg.Connection[TupleRow],
    files: list[tuple[str, str, Path]],
    done: set[str],
    report: MigrateReport,
) -> None:
    """Refuse an applied migration whose file changed; record missing checksums."""
    known: dict[str, str] = {
        str(version): str(sha)
        for version, sha in conn.execute(
            "select version, sha256 from supabase_migrations.cliftonsites_checksums"
        ).fetchall()
    }
    unrecorded = []
    for version, _, path in files:
        if version not in done:
            continue
        now = checksum(path.read_text())
        applied = known.get(version)
        if applied is None:
            unrecorded.append((version, now, path.name))
        elif applied != now:
            raise ChangedMigrationError(path, applied, now)
    with conn.transaction():
        for version, now, name in unrecorded:
            conn.execute(
                "insert into supabase_migrations.cliftonsites_checksums (version, sha256)"
                " values (%s, %s) on conflict (version) do nothing",
                (version, now),
            )
            report.checksums_recorded.append(name)
