"""The doctor's checks on the schema objects the migrations create: tables (with RLS
and grants), functions (search_path, security, who may execute), triggers and views."""

from __future__ import annotations

from typing import Any

from dashboard.ops import expected as exp
from dashboard.ops.catalog import Catalog
from dashboard.ops.finding import Finding


def _missing(check: str, subject: str, what: str, why: str, created_by: str) -> Finding:
    """An object the migrations create is not there; the fix names the migration whose
    text matches the regular expression `created_by`."""
    where = exp.file_defining(created_by)
    return Finding(
        check,
        subject,
        "fail",
        f"{what} is missing",
        why,
        f"cliftonsites db migrate  -- it is created in {where}",
    )


def check_tables(cat: Catalog) -> tuple[list[Finding], str]:
    out = []
    for name in exp.TABLES:
        table = cat.tables.get(name)
        if table is None:
            out.append(
                _missing(
                    "tables",
                    f"public.{name}",
                    f"table {name}",
                    "the app and the workers read and write it",
                    rf"create\s+table\s+public\.{name}\b",
                )
            )
        elif not table.rls:
            out.append(
                Finding(
                    "tables",
                    f"public.{name}",
                    "fail",
                    f"row level security is disabled on {name}",
                    "without RLS, any role with a grant sees and changes every row;"
                    " Supabase exposes public tables through its API",
                    f"alter table public.{name} enable row level security;",
                )
            )
        else:
            out.extend(_table_grants(name, table.grants))
    return out, f"{len(exp.TABLES)} tables present, RLS on every one, grants as designed"


def _table_grants(name: str, grants: dict[str, list[str]]) -> list[Finding]:
    out = []
    allowed = {"SELECT"} if name in exp.READABLE else set()
    for role, allowed_privileges in (("anon", set()), ("authenticated", allowed)):
        extra = sorted(set(grants.get(role, [])) - allowed_privileges)
        if extra:
            out.append(
                Finding(
                    "tables",
                    f"public.{name}",
                    "fail",
                    f"{role} holds {', '.join(extra)} on {name}",
                    f"{role} must only read what the design allows (SYSTEM.md: anon"
                    " nothing, authenticated reads with MFA); writes go through"
                    " service_role after the session check",
                    f"revoke {', '.join(p.lower() for p in extra)} on public.{name} from {role};",
                )
            )
    if name == "admin_audit_log":
        extra = sorted({"UPDATE", "DELETE", "TRUNCATE"} & set(grants.get("service_role", [])))
        if extra:
            out.append(
                Finding(
                    "tables",
                    "public.admin_audit_log",
                    "fail",
                    f"service_role may {', '.join(extra)} the audit log",
                    "the audit log is append-only: a stolen service key must not"
                    " be able to erase its tracks",
                    f"revoke {', '.join(p.lower() for p in extra)}"
                    " on public.admin_audit_log from service_role;",
                )
            )
    return out


def check_functions(cat: Catalog) -> tuple[list[Finding], str]:
    out = []
    for name in exp.FUNCTIONS:
        fn = cat.functions.get(name)
        if fn is None:
            out.append(
                _missing(
                    "functions",
                    f"public.{name}",
                    f"function {name}",
                    "the app and the workers call it through the API",
                    rf"create\s+(or\s+replace\s+)?function\s+public\.{name}\b",
                )
            )
            continue
        allowed = {"service_role"} | (
            {"authenticated"} if name in exp.AUTHENTICATED_FUNCTIONS else set()
        )
        out.extend(_function_findings(fn, allowed))
    for fn in cat.functions.values():
        if fn.is_trigger:
            out.extend(_function_findings(fn, set()))
        elif fn.name not in exp.FUNCTIONS:
            out.append(
                Finding(
                    "functions",
                    fn.signature,
                    "warn",
                    f"unexpected function {fn.signature} in public",
                    "public holds exactly the 25 RPC functions and trigger functions;"
                    " anything else is callable through the API if granted",
                    f"drop function {fn.signature};  -- or move it to another schema",
                )
            )
    return out, "25 functions, security invoker, search_path fixed, execute matrix as designed"


def _function_findings(fn: Any, allowed: set[str]) -> list[Finding]:
    out = []
    if fn.search_path is None:
        out.append(
            Finding(
                "functions",
                fn.signature,
                "fail",
                f"{fn.signature} has a mutable search_path",
                "a caller could put their own schema first and hijack the names"
                " the function uses (Supabase's advisor flags it)",
                f"alter function {fn.signature} set search_path = '';",
            )
        )
    if fn.security_definer:
        out.append(
            Finding(
                "functions",
                fn.signature,
                "fail",
                f"{fn.signature} is SECURITY DEFINER",
                "it runs with its owner's rights and skips RLS for every caller;"
                " the design keeps every function SECURITY INVOKER",
                f"alter function {fn.signature} security invoker;",
            )
        )
    executors = set(fn.executors)
    extra = sorted(executors - allowed)
    if extra:
        who = "public, " + ", ".join(extra) if fn.public_execute else ", ".join(extra)
        out.append(
            Finding(
                "functions",
                fn.signature,
                "fail",
                f"{', '.join(extra)} may execute {fn.signature}",
                "anon executes nothing and authenticated only functions 1-3:"
                " everything else acts only through service_role after the"
                " server has checked the admin's session",
                f"revoke execute on function {fn.signature} from {who};",
            )
        )
    missing = sorted(allowed - executors)
    if missing:
        out.append(
            Finding(
                "functions",
                fn.signature,
                "fail",
                f"{', '.join(missing)} may not execute {fn.signature}",
                "the dashboard or the workers call it as that role",
                f"grant execute on function {fn.signature} to {', '.join(missing)};",
            )
        )
    return out


def check_triggers(cat: Catalog) -> tuple[list[Finding], str]:
    out = []
    present = {(t.name, t.table): t for t in cat.triggers}
    for name, table in exp.TRIGGERS.items():
        trigger = present.get((name, table))
        if trigger is None:
            out.append(
                _missing(
                    "triggers",
                    f"{name} on public.{table}",
                    f"trigger {name} on {table}",
                    _TRIGGER_WHY[name],
                    rf"create\s+trigger\s+{name}\b",
                )
            )
        elif not trigger.enabled:
            out.append(
                Finding(
                    "triggers",
                    f"{name} on public.{table}",
                    "fail",
                    f"trigger {name} on {table} is disabled",
                    _TRIGGER_WHY[name],
                    f"alter table public.{table} enable trigger {name};",
                )
            )
    return out, "5 triggers present and enabled"


_TRIGGER_WHY = {
    "outreach_on_deployed": "newly deployed businesses never get outreach started at once"
    " (only the sweeper would catch them)",
    "pipeline_businesses_set_updated_at": "updated_at goes stale, so recent-activity views lie",
    "qualified_businesses_set_updated_at": "updated_at goes stale, so recent-activity views lie",
    "automation_config_set_updated_at": "the config page shows when it last changed",
    "automation_commands_notify": "workers hear of new commands only when they next poll",
}


def check_views(cat: Catalog) -> tuple[list[Finding], str]:
    out = []
    for name in exp.VIEWS:
        view = cat.views.get(name)
        if view is None:
            out.append(
                _missing(
                    "views",
                    f"public.{name}",
                    f"view {name}",
                    "the overview reads queue and identification progress from it",
                    rf"create\s+(or\s+replace\s+)?view\s+public\.{name}\b",
                )
            )
        elif not view.security_invoker:
            out.append(
                Finding(
                    "views",
                    f"public.{name}",
                    "fail",
                    f"view {name} runs with its owner's rights (no security_invoker)",
                    "a definer view reads past the RLS of whoever queries it"
                    " (Supabase's advisor flags it)",
                    f"alter view public.{name} set (security_invoker = true);",
                )
            )
    return out, "both views present with security_invoker"
