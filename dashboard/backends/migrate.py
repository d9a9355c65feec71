"""`cliftonsites db migrate`: the local bootstrap where Supabase's pieces are missing, then
every migration in `supabase/migrations/` not yet recorded.

Each migration runs in its own transaction and is recorded in
`supabase_migrations.schema_migrations` (as the Supabase CLI does), so a failing one
leaves nothing half-applied and is reported with its file and the error. An advisory
lock lets several app instances start at once during a rollout.

A project that has no migration history yet (a new Supabase project never touched by
the CLI) gets the CLI's history schema and table created first. Each applied
migration's SHA-256 is kept in `supabase_migrations.cliftonsites_checksums`; a file
that changed after it was applied is refused before anything runs, since editing an
applied migration changes nothing in a database that already has it. A migration
applied before checksums were kept (by an older runner or by `supabase db push`) has
its file's checksum recorded the first time the runner sees it.
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

Conn = psycopg.Connection[TupleRow]


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


HISTORY_TABLE = "supabase_migrations.schema_migrations"
#: The Supabase CLI's own shape of the table (it adds its later columns itself).
CREATE_HISTORY = (
    "create table if not exists supabase_migrations.schema_migrations"
    " (version text primary key, statements text[], name text)"
)
CHECKSUMS_TABLE = "supabase_migrations.cliftonsites_checksums"
CREATE_CHECKSUMS = """
create table if not exists supabase_migrations.cliftonsites_checksums (
  version text primary key,
  sha256 text not null,
  recorded_at timestamptz not null default now()
);
comment on table supabase_migrations.cliftonsites_checksums is
  'SHA-256 of each applied migration file, kept by cliftonsites db migrate to refuse'
  ' a migration edited after it was applied.';
"""


@dataclass
class MigrateReport:
    supabase: bool = False
    bootstrapped: bool = False
    created: list[str] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    checksums_recorded: list[str] = field(default_factory=list)  # applied before checksums

    def lines(self) -> list[str]:
        """What was done, for people: the target, what was created, every migration."""
        out = [
            "Supabase project: local bootstrap skipped"
            if self.supabase
            else ("local bootstrap applied" if self.bootstrapped else "local bootstrap skipped")
        ]
        out += [f"created  {what} (it did not exist yet)" for what in self.created]
        if self.checksums_recorded:
            out.append(
                f"recorded the checksums of {len(self.checksums_recorded)} migrations"
                " applied before checksums were kept"
            )
        out += [f"applied  {name}" for name in self.applied]
        out.append(f"{len(self.applied)} applied, {len(self.already)} already applied")
        return out


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[tuple[str, str, Path]]:
    """(version, name, path) for each migration, in order; a misnamed file is an error."""
    out = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(path, "file name must be <14-digit UTC timestamp>_<what>.sql")
        out.append((match.group(1), match.group(2), path))
    return out


def checksum(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


def is_supabase(conn: psycopg.Connection[object]) -> bool:
    """A real Supabase project has its own admin role; we never bootstrap there."""
    row = conn.execute("select 1 from pg_roles where rolname = 'supabase_admin'").fetchone()
    return row is not None


def ensure_history(conn: Conn, directory: Path) -> list[str]:
    """Create the migration history where it is missing (a Supabase project the CLI never
    pushed to has no `supabase_migrations` schema, or the schema without the table), in
    the shape the Supabase CLI uses, so `supabase db push` reads it later; and our
    checksums beside it. Returns what was created. A database that already has our
    tables but no history is refused: nobody could tell which migrations it had."""
    created = []
    with conn.transaction():
        schema = conn.execute(
            "select 1 from pg_namespace where nspname = 'supabase_migrations'"
        ).fetchone()
        history = conn.execute("select to_regclass(%s)", (HISTORY_TABLE,)).fetchone()
        if history == (None,) and _has_our_schema(conn):
            raise MigrationError(
                migration_files(directory)[0][2],
                "no migration history",
                message=(
                    "this database has the CliftonSites tables but no migration history"
                    f" ({HISTORY_TABLE}), so nobody can tell which migrations it had;"
                    " nothing was changed. Record the applied ones with `supabase"
                    " migration repair --status applied <version>` (or the inserts that"
                    " `cliftonsites doctor` prints), then migrate again"
                ),
            )
        if schema is None:
            conn.execute("create schema supabase_migrations")
            created.append("schema supabase_migrations")
        if history == (None,):
            conn.execute(CREATE_HISTORY)
            created.append(f"table {HISTORY_TABLE}")
        conn.execute(CREATE_CHECKSUMS)
    return created


def migrate(
    url: str, *, directory: Path = MIGRATIONS_DIR, local: bool | None = None
) -> MigrateReport:
    report = MigrateReport()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            report.supabase = is_supabase(conn)
            if local is None:
                local = not report.supabase
            if local:
                with conn.transaction():
                    conn.execute((LOCAL_DIR / "bootstrap.sql").read_text())
                report.bootstrapped = True
            report.created = ensure_history(conn, directory)
            done = {r[0] for r in conn.execute(f"select version from {HISTORY_TABLE}").fetchall()}
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
                            f"insert into {HISTORY_TABLE} (version, name, statements)"
                            " values (%s, %s, %s)",
                            (version, name, [body]),
                        )
                        conn.execute(
                            f"insert into {CHECKSUMS_TABLE} (version, sha256) values (%s, %s)",
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


def _has_our_schema(conn: Conn) -> bool:
    row = conn.execute("select to_regclass('public.pipeline_businesses')").fetchone()
    return row is not None and row[0] is not None


def _check_applied_files(
    conn: Conn, files: list[tuple[str, str, Path]], done: set[str], report: MigrateReport
) -> None:
    """Refuse an applied migration whose file changed; record missing checksums."""
    known: dict[str, str] = {
        str(version): str(sha)
        for version, sha in conn.execute(f"select version, sha256 from {CHECKSUMS_TABLE}")
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
                f"insert into {CHECKSUMS_TABLE} (version, sha256) values (%s, %s)"
                " on conflict (version) do nothing",
                (version, now),
            )
            report.checksums_recorded.append(name)
