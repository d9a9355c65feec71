"""The doctor's checks on indexes, migrations, the realtime publication and the
outreach path (the schema-object checks live in `doctor.py`)."""

from __future__ import annotations

from collections import defaultdict

from dashboard.ops import expected as exp
from dashboard.ops.catalog import Catalog
from dashboard.ops.finding import Finding

MIGRATE = "cliftonsites db migrate --database-url <url>"


def check_indexes(cat: Catalog) -> tuple[list[Finding], str]:
    out = []
    present = {(i.schema, i.name): i for i in cat.indexes}
    declared = exp.declared_indexes()
    for index in declared.values():
        found = present.get((index.schema, index.name))
        where = f"{index.schema}.{index.name}"
        if found is None:
            out.append(
                Finding(
                    "indexes",
                    where,
                    "fail",
                    f"index {where} is missing",
                    f"queries on {index.table} that it serves scan the whole table"
                    f" (declared in {index.file})",
                    index.statement,
                )
            )
        elif not found.valid:
            out.append(
                Finding(
                    "indexes",
                    where,
                    "fail",
                    f"index {where} is invalid",
                    "an interrupted CREATE INDEX CONCURRENTLY left it unusable:"
                    " the planner ignores it but writes still maintain it",
                    f"reindex index {where};",
                )
            )
    out.extend(_unindexed_foreign_keys(cat))
    out.extend(_duplicate_indexes(cat))
    verified = f"{len(declared)} declared indexes present and valid; every foreign key indexed"
    return out, verified


def _unindexed_foreign_keys(cat: Catalog) -> list[Finding]:
    out = []
    for fk in cat.foreign_keys:
        table = fk.table.removeprefix("public.")
        n = len(fk.columns)
        if any(
            i.schema == "public" and i.table == table and i.columns[:n] == fk.columns
            for i in cat.indexes
        ):
            continue
        cols = ", ".join(fk.column_names)
        out.append(
            Finding(
                "indexes",
                f"public.{table}.{fk.name}",
                "fail",
                f"foreign key {fk.name} ({cols}) has no index",
                "deleting or updating a referenced row scans the whole table"
                " (Supabase's advisor flags it)",
                f"create index on public.{table} ({cols});",
            )
        )
    return out


def _duplicate_indexes(cat: Catalog) -> list[Finding]:
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for index in cat.indexes:
        shape = index.definition.split(" USING ", 1)[-1]
        groups[(f"{index.schema}.{index.table}", shape)].append(f"{index.schema}.{index.name}")
    return [
        Finding(
            "indexes",
            names[-1],
            "warn",
            f"indexes {', '.join(names)} are identical",
            "each write maintains both for no gain (Supabase's advisor flags it)",
            f"drop index {names[-1]};",
        )
        for names in groups.values()
        if len(names) > 1
    ]


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


def check_realtime(cat: Catalog) -> tuple[list[Finding], str]:
    if cat.publication is None:
        return [
            Finding(
                "realtime",
                "supabase_realtime",
                "fail",
                "the publication supabase_realtime does not exist",
                "the dashboard gets no live updates at all",
                "create publication supabase_realtime;\n" + MIGRATE,
            )
        ], ""
    out = []
    for table in exp.WATCHED:
        if table not in cat.publication:
            out.append(
                Finding(
                    "realtime",
                    f"public.{table}",
                    "fail",
                    f"{table} is not in the supabase_realtime publication",
                    f"the dashboard does not update live when {table} changes",
                    f"alter publication supabase_realtime add table public.{table};"
                    + (
                        ""
                        if cat.is_supabase
                        else f"\n{MIGRATE}  -- adds the local NOTIFY triggers for it"
                    ),
                )
            )
        elif not cat.is_supabase:
            out.extend(_local_notify(cat, table))
    mode = "Supabase Realtime" if cat.is_supabase else "local NOTIFY triggers on each"
    return out, f"{len(exp.WATCHED)} watched tables published ({mode})"


def _local_notify(cat: Catalog, table: str) -> list[Finding]:
    triggers = {t.name: t for t in cat.triggers if t.table == table}
    broken = [n for n in exp.LOCAL_NOTIFY_TRIGGERS if n not in triggers or not triggers[n].enabled]
    if not broken:
        return []
    fixes = [
        f"alter table public.{table} enable trigger {n};" if n in triggers else MIGRATE
        for n in broken
    ]
    return [
        Finding(
            "realtime",
            f"public.{table}",
            "fail",
            f"local NOTIFY trigger(s) {', '.join(broken)} on {table} missing or disabled",
            "locally these stand in for Realtime: without them the dashboard misses"
            f" changes to {table}",
            "\n".join(dict.fromkeys(fixes)),
        )
    ]


def check_outreach(cat: Catalog) -> tuple[list[Finding], str]:
    out = _supabase_outreach(cat) if cat.is_supabase else []
    if cat.outreach_enabled is False:
        out.append(
            Finding(
                "outreach",
                "automation_config.outreach_enabled",
                "warn",
                "outreach is disabled in config",
                "deployed businesses stay `pending` and no campaign starts",
                "select public.update_automation_config("
                """'{"outreach_enabled": true}', 'doctor');""",
            )
        )
    if cat.outreach_backlog:
        out.append(
            Finding(
                "outreach",
                "qualified_businesses",
                "warn",
                f"{cat.outreach_backlog:,} deployed businesses have waited more than"
                " 15 minutes for outreach",
                "the trigger's request or NOTIFY was lost and the app's sweeper is"
                " not running (or outreach is disabled)",
                "-- start the app (cliftonsites serve) so its sweeper starts them;"
                " check its logs for outreach errors",
            )
        )
    path = "pg_net POST" if cat.is_supabase else "NOTIFY outreach_start to the app's listener"
    return out, f"outreach trigger path: {path}"


def _supabase_outreach(cat: Catalog) -> list[Finding]:
    out = []
    if "pg_net" not in cat.extensions:
        out.append(
            Finding(
                "outreach",
                "pg_net",
                "fail",
                "pg_net is not installed",
                "on Supabase outreach_on_deployed posts to the app through pg_net;"
                " without it, it only NOTIFYs, which nothing on Supabase hears",
                "create extension if not exists pg_net with schema extensions;",
            )
        )
    for name, example in (
        ("app.settings.outreach_trigger_url", "https://<your app>/api/outreach/start-campaign"),
        ("app.settings.outreach_trigger_secret", "<OUTREACH_TRIGGER_SECRET>"),
    ):
        if name not in cat.settings:
            out.append(
                Finding(
                    "outreach",
                    name,
                    "fail",
                    f"database setting {name} is not set",
                    "outreach_on_deployed does not know where (or how) to call the app",
                    f"alter database postgres set {name} = '{example}';",
                )
            )
    return out
