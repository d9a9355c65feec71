"""The doctor's check on the migration history: every file applied, unchanged since,
and nothing applied that this checkout lacks."""

from __future__ import annotations

from dashboard.ops import expected as exp
from dashboard.ops.catalog import Catalog
from dashboard.ops.checks import MIGRATE
from dashboard.ops.finding import Finding


def check_migrations(cat: Catalog) -> tuple[list[Finding], str]:
    if cat.migrations is None:
        return [
            Finding(
                "migrations",
                "supabase_migrations.schema_migrations",
                "fail",
                "no migration history (supabase_migrations.schema_migrations is missing)",
                "nobody can tell which migrations this database has had",
                MIGRATE,
            )
        ], ""
    out = []
    files = exp.migrations()
    known = {m.version for m in files}
    for m in files:
        if m.version not in cat.migrations:
            out.append(
                Finding(
                    "migrations",
                    m.file,
                    "fail",
                    f"migration {m.file} is not recorded as applied",
                    "its objects may be missing, and the next migrate would try to run it again",
                    f"{MIGRATE}  -- applies it; or, if it was run by hand, record it:\n"
                    "insert into supabase_migrations.schema_migrations (version, name)"
                    f" values ('{m.version}', '{m.name}');",
                )
            )
        applied = cat.migration_checksums.get(m.version)
        if applied is not None and applied != m.sha256:
            out.append(
                Finding(
                    "migrations",
                    m.file,
                    "fail",
                    f"migration {m.file} changed after it was applied",
                    "the database has the old version of it, and migrate refuses to run"
                    " until the file is restored",
                    f"git checkout -- supabase/migrations/{m.file}  -- restore it, then put"
                    " the change in a new migration",
                )
            )
    for version, name in cat.migrations.items():
        if version not in known:
            out.append(
                Finding(
                    "migrations",
                    f"{version}_{name}",
                    "fail",
                    f"applied migration {version} ({name}) is not in supabase/migrations/",
                    "the database was changed by a version of the code this checkout"
                    " does not have; the doctor's other answers may not apply",
                    "git pull  -- get the branch that has it; if it was removed on"
                    " purpose:\ndelete from supabase_migrations.schema_migrations"
                    f" where version = '{version}';",
                )
            )
    return out, f"all {len(files)} migrations applied, none unknown"
