"""`cliftonsites db migrate`: the local bootstrap where Supabase's pieces are missing, then
every migration in `supabase/migrations/` not yet recorded.

Each migration runs in its own transaction and is recorded in
`supabase_migrations.schema_migrations` (as the Supabase CLI does), so a failing one
leaves nothing half-applied and is reported with its file and the error. An advisory
lock lets several app instances start at once during a rollout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS_DIR = ROOT / "supabase" / "migrations"
LOCAL_DIR = ROOT / "supabase" / "local"
LOCK_KEY = 0x0C11F705  # advisory lock id for migrations
_NAME = re.compile(r"^(\d{14})_([a-z0-9_]+)\.sql$")


class MigrationError(RuntimeError):
    def __init__(self, file: Path, error: str) -> None:
        super().__init__(f"migration {file.name} failed and was rolled back: {error}")
        self.file = file
        self.error = error


HISTORY_TABLE = "supabase_migrations.schema_migrations"
#: The Supabase CLI's own shape of the table (it adds its later columns itself).
CREATE_HISTORY = (
    "create table if not exists supabase_migrations.schema_migrations"
    " (version text primary key, statements text[], name text)"
)


@dataclass
class MigrateReport:
    supabase: bool = False
    bootstrapped: bool = False
    created: list[str] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """What was done, for people: the target, what was created, every migration."""
        out = [
            "Supabase project: local bootstrap skipped"
            if self.supabase
            else ("local bootstrap applied" if self.bootstrapped else "local bootstrap skipped")
        ]
        out += [f"created  {what} (it did not exist yet)" for what in self.created]
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


def is_supabase(conn: psycopg.Connection[object]) -> bool:
    """A real Supabase project has its own admin role; we never bootstrap there."""
    row = conn.execute("select 1 from pg_roles where rolname = 'supabase_admin'").fetchone()
    return row is not None


def ensure_history(conn: psycopg.Connection[object]) -> list[str]:
    """Create the migration history where it is missing (a Supabase project the CLI never
    pushed to has no `supabase_migrations` schema, or the schema without the table), in
    the shape the Supabase CLI uses, so `supabase db push` reads it later. Returns what
    was created."""
    created = []
    with conn.transaction():
        schema = conn.execute(
            "select 1 from pg_namespace where nspname = 'supabase_migrations'"
        ).fetchone()
        if schema is None:
            conn.execute("create schema supabase_migrations")
            created.append("schema supabase_migrations")
        if conn.execute("select to_regclass(%s)", (HISTORY_TABLE,)).fetchone() == (None,):
            conn.execute(CREATE_HISTORY)
            created.append(f"table {HISTORY_TABLE}")
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
            report.created = ensure_history(conn)
            done = {r[0] for r in conn.execute(f"select version from {HISTORY_TABLE}").fetchall()}
            for version, name, path in migration_files(directory):
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
                except psycopg.Error as exc:
                    raise MigrationError(path, str(exc).strip()) from exc
                report.applied.append(path.name)
            if local:
                with conn.transaction():
                    conn.execute((LOCAL_DIR / "after_migrations.sql").read_text())
        finally:
            conn.execute("select pg_advisory_unlock(%s)", (LOCK_KEY,))
    return report
