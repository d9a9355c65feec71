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


@dataclass
class MigrateReport:
    bootstrapped: bool = False
    applied: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)


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
            done = {
                r[0]
                for r in conn.execute(
                    "select version from supabase_migrations.schema_migrations"
                ).fetchall()
            }
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
