"""What the database actually holds, read from the system catalog in one pass.

Both the doctor (which compares it with what the schema promises) and the
`/admin/system` page (which shows it) read this snapshot. Every query here is
read-only and works on plain PostgreSQL and on a Supabase project alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg

API_ROLES = ("anon", "authenticated", "service_role")
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
EXACT_COUNT_LIMIT = 100_000  # above this many (estimated) rows, show the planner's estimate
Conn = psycopg.Connection[tuple[Any, ...]]


@dataclass(frozen=True)
class Policy:
    table: str
    name: str
    command: str
    roles: tuple[str, ...]
    permissive: bool
    using: str | None
    check: str | None


@dataclass
class Table:
    name: str
    rls: bool
    rows: int
    estimated: bool
    size_bytes: int
    policies: list[Policy] = field(default_factory=list)
    #: role -> privileges it holds on the table
    grants: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Function:
    name: str
    signature: str  # public.name(identity args), ready for ALTER / GRANT
    is_trigger: bool
    security_definer: bool
    search_path: str | None
    executors: tuple[str, ...]  # which API roles may execute it
    public_execute: bool  # granted to PUBLIC (every role)


@dataclass(frozen=True)
class Trigger:
    table: str
    name: str
    enabled: bool
    function: str


@dataclass(frozen=True)
class View:
    name: str
    security_invoker: bool
    options: tuple[str, ...]


@dataclass(frozen=True)
class Index:
    schema: str
    table: str
    name: str
    valid: bool
    size_bytes: int
    scans: int
    definition: str
    columns: tuple[int, ...]


@dataclass(frozen=True)
class ForeignKey:
    table: str
    name: str
    columns: tuple[int, ...]
    column_names: tuple[str, ...]


@dataclass
class Catalog:
    server_version: str
    is_supabase: bool
    tables: dict[str, Table]
    functions: dict[str, Function]
    triggers: list[Trigger]
    views: dict[str, View]
    indexes: list[Index]
    foreign_keys: list[ForeignKey]
    migrations: dict[str, str] | None  # version -> name; None when the table is missing
    #: version -> sha256 of the file as applied (cliftonsites db migrate keeps them)
    migration_checksums: dict[str, str]
    publication: set[str] | None  # published public tables; None when there is none
    extensions: set[str]
    roles: set[str]
    settings: dict[str, str]
    #: outreach_enabled, and deployed businesses waiting for outreach too long
    outreach_enabled: bool | None = None
    outreach_backlog: int = 0


def read_catalog(conn: Conn) -> Catalog:
    roles = {r[0] for r in conn.execute("select rolname from pg_roles").fetchall()}
    version = conn.execute("show server_version").fetchone()
    return Catalog(
        server_version=str(version[0]) if version else "?",
        is_supabase="supabase_admin" in roles,
        tables=_tables(conn, roles),
        functions=_functions(conn, roles),
        triggers=_triggers(conn),
        views=_views(conn),
        indexes=_indexes(conn),
        foreign_keys=_foreign_keys(conn),
        migrations=_migrations(conn),
        migration_checksums=_migration_checksums(conn),
        publication=_publication(conn),
        extensions={r[0] for r in conn.execute("select extname from pg_extension").fetchall()},
        roles=roles,
        settings=_settings(conn),
        **_outreach_health(conn),
    )


def _tables(conn: Conn, roles: set[str]) -> dict[str, Table]:
    tables: dict[str, Table] = {}
    for name, rls, reltuples, size in conn.execute(
        "select c.relname, c.relrowsecurity, c.reltuples::bigint, pg_total_relation_size(c.oid)"
        " from pg_class c where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'"
        " order by c.relname"
    ).fetchall():
        estimated = reltuples >= EXACT_COUNT_LIMIT
        rows = reltuples if estimated else _count(conn, name)
        tables[name] = Table(name, rls, rows, estimated, size)
    for row in conn.execute(
        "select tablename, policyname, cmd, roles::text[], permissive = 'PERMISSIVE', qual,"
        " with_check from pg_policies where schemaname = 'public' order by tablename, policyname"
    ).fetchall():
        if row[0] in tables:
            tables[row[0]].policies.append(Policy(row[0], row[1], row[2], tuple(row[3]), *row[4:]))
    present = [r for r in API_ROLES if r in roles]
    for table, role, privilege in conn.execute(
        "select c.relname, r, p from pg_class c, unnest(%s::text[]) r,"
        " unnest(%s::text[]) p where c.relnamespace = 'public'::regnamespace"
        " and c.relkind = 'r' and has_table_privilege(r, c.oid, p) order by 1, 2",
        (present, list(TABLE_PRIVILEGES)),
    ).fetchall():
        tables[table].grants.setdefault(role, []).append(privilege)
    return tables


def _count(conn: Conn, table: str) -> int:
    row = conn.execute(f'select count(*) from public."{table}"').fetchone()
    return int(row[0]) if row else 0


def _functions(conn: Conn, roles: set[str]) -> dict[str, Function]:
    present = [r for r in API_ROLES if r in roles]
    out: dict[str, Function] = {}
    for row in conn.execute(
        "select p.proname, format('public.%%I(%%s)', p.proname,"
        " pg_get_function_identity_arguments(p.oid)), p.prorettype = 'trigger'::regtype,"
        " p.prosecdef, (select substr(c, 13) from unnest(p.proconfig) c"
        "   where c like 'search_path=%%'),"
        " array(select r from unnest(%s::text[]) r"
        "   where has_function_privilege(r, p.oid, 'EXECUTE')),"
        " p.proacl is null or exists (select 1 from aclexplode(p.proacl) a"
        "   where a.grantee = 0 and a.privilege_type = 'EXECUTE')"
        " from pg_proc p where p.pronamespace = 'public'::regnamespace and p.prokind = 'f'"
        " order by p.proname",
        (present,),
    ).fetchall():
        out[row[0]] = Function(row[0], row[1], row[2], row[3], row[4], tuple(row[5]), row[6])
    return out


def _triggers(conn: Conn) -> list[Trigger]:
    return [
        Trigger(*row)
        for row in conn.execute(
            "select c.relname, t.tgname, t.tgenabled <> 'D', t.tgfoid::regproc::text"
            " from pg_trigger t join pg_class c on c.oid = t.tgrelid"
            " where c.relnamespace = 'public'::regnamespace and not t.tgisinternal"
            " order by c.relname, t.tgname"
        ).fetchall()
    ]


def _views(conn: Conn) -> dict[str, View]:
    out = {}
    for name, options in conn.execute(
        "select relname, coalesce(reloptions, '{}') from pg_class"
        " where relnamespace = 'public'::regnamespace and relkind in ('v', 'm') order by relname"
    ).fetchall():
        invoker = any(
            o.lower() in ("security_invoker=true", "security_invoker=on") for o in options
        )
        out[name] = View(name, invoker, tuple(options))
    return out


def _indexes(conn: Conn) -> list[Index]:
    return [
        Index(row[0], row[1], row[2], row[3], row[4], row[5], row[6], tuple(int(k) for k in row[7]))
        for row in conn.execute(
            "select n.nspname, t.relname, i.relname,"
            " x.indisvalid and x.indisready and x.indislive, pg_relation_size(i.oid),"
            " coalesce(s.idx_scan, 0), pg_get_indexdef(i.oid), x.indkey::int2[]"
            " from pg_index x join pg_class i on i.oid = x.indexrelid"
            " join pg_class t on t.oid = x.indrelid join pg_namespace n on n.oid = t.relnamespace"
            " left join pg_stat_all_indexes s on s.indexrelid = x.indexrelid"
            " where n.nspname in ('public', 'admin_private') order by 1, 2, 3"
        ).fetchall()
    ]


def _foreign_keys(conn: Conn) -> list[ForeignKey]:
    return [
        ForeignKey(row[0], row[1], tuple(int(k) for k in row[2]), tuple(row[3]))
        for row in conn.execute(
            "select c.conrelid::regclass::text, c.conname, c.conkey::int2[],"
            " array(select a.attname::text from unnest(c.conkey) k"
            "   join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k)"
            " from pg_constraint c where c.contype = 'f'"
            " and c.connamespace in ('public'::regnamespace) order by 1, 2"
        ).fetchall()
    ]


def _migrations(conn: Conn) -> dict[str, str] | None:
    row = conn.execute("select to_regclass('supabase_migrations.schema_migrations')").fetchone()
    if row is None or row[0] is None:
        return None
    return {
        str(v): str(n or "")
        for v, n in conn.execute(
            "select version, name from supabase_migrations.schema_migrations order by version"
        ).fetchall()
    }


def _migration_checksums(conn: Conn) -> dict[str, str]:
    row = conn.execute(
        "select to_regclass('supabase_migrations.cliftonsites_checksums')"
    ).fetchone()
    if row is None or row[0] is None:
        return {}
    return {
        str(v): str(h)
        for v, h in conn.execute(
            "select version, sha256 from supabase_migrations.cliftonsites_checksums"
        ).fetchall()
    }


def _publication(conn: Conn) -> set[str] | None:
    if not conn.execute(
        "select 1 from pg_publication where pubname = 'supabase_realtime'"
    ).fetchone():
        return None
    return {
        r[0]
        for r in conn.execute(
            "select tablename from pg_publication_tables"
            " where pubname = 'supabase_realtime' and schemaname = 'public'"
        ).fetchall()
    }


def _settings(conn: Conn) -> dict[str, str]:
    names = ("app.settings.outreach_trigger_url", "app.settings.outreach_trigger_secret")
    out = {}
    for name in names:
        row = conn.execute("select current_setting(%s, true)", (name,)).fetchone()
        if row and row[0]:
            out[name] = str(row[0])
    return out


def _outreach_health(conn: Conn) -> dict[str, Any]:
    """Whether outreach is on, and how many deployed sites waited > 15 min for it."""
    if conn.execute("select to_regclass('public.automation_config')").fetchone() == (None,):
        return {}
    enabled = conn.execute("select outreach_enabled from public.automation_config").fetchone()
    backlog = conn.execute(
        "select count(*) from public.qualified_businesses where outreach_status = 'pending'"
        " and site_status = 'deployed' and deployed_at < now() - interval '15 minutes'"
    ).fetchone()
    return {
        "outreach_enabled": bool(enabled[0]) if enabled else None,
        "outreach_backlog": int(backlog[0]) if backlog else 0,
    }
