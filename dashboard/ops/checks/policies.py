"""The doctor's check on row level security policies: nothing for anon, reads by
authenticated only with MFA (aal2) and the admin flag, `(select auth.jwt())` per query."""

from __future__ import annotations

from typing import Any

from dashboard.ops import expected as exp
from dashboard.ops.catalog import Catalog
from dashboard.ops.finding import Finding


def check_policies(cat: Catalog) -> tuple[list[Finding], str]:
    out = []
    for name, table in cat.tables.items():
        if name not in exp.TABLES:
            continue
        for policy in table.policies:
            out.extend(_policy_findings(policy))
        if name in exp.READABLE:
            out.extend(_readable_policies(name, table.policies))
    return out, (
        "no policy for anon; reads by authenticated require aal2 and the admin flag;"
        " (select auth.jwt())"
    )


def _policy_findings(policy: Any) -> list[Finding]:
    out = []
    where = f'"{policy.name}" on public.{policy.table}'
    if {"anon", "public"} & set(policy.roles):
        out.append(
            Finding(
                "policies",
                where,
                "fail",
                f"policy {where} applies to {', '.join(policy.roles)}",
                "anon (the browser's key) must see nothing; a policy for public covers anon too",
                f"drop policy {where};",
            )
        )
    text = f"{policy.using or ''} {policy.check or ''}"
    bare = text.replace("( SELECT auth.", "").replace("(SELECT auth.", "")
    if "auth.jwt()" in bare or "auth.uid()" in bare:
        out.append(
            Finding(
                "policies",
                where,
                "warn",
                f"policy {where} calls auth.jwt()/auth.uid() per row",
                "wrapped as (select auth.jwt()) it is evaluated once per query;"
                " bare, once per row (Supabase's advisor flags it)",
                f"-- recreate {where} with (select auth.jwt()) / (select auth.uid())",
            )
        )
    return out


def _readable_policies(name: str, policies: list[Any]) -> list[Finding]:
    selects = [p for p in policies if p.command in ("SELECT", "ALL") and "authenticated" in p.roles]
    out = []
    if not any(not p.permissive and exp.ADMIN_FLAG in (p.using or "") for p in selects):
        policy = f'"Reading {name} requires the admin flag"'
        out.append(
            Finding(
                "policies",
                f"public.{name}",
                "fail",
                f"no restrictive admin-flag policy on {name}",
                "without it, any user of the Supabase project who sets up TOTP (aal2) can"
                " read the table",
                f"create policy {policy} on public.{name} as restrictive for select"
                " to authenticated using (coalesce(((select auth.jwt()) -> 'app_metadata'"
                f" ->> '{exp.ADMIN_FLAG}'), '') = 'true');",
            )
        )
    if any(not p.permissive and "aal2" in (p.using or "") for p in selects):
        return out
    policy = f'"Reading {name} requires MFA (aal2)"'
    return [
        *out,
        Finding(
            "policies",
            f"public.{name}",
            "fail",
            f"no restrictive aal2 policy on {name}",
            "without it, a signed-in admin who has not passed MFA can read the table",
            f"create policy {policy} on public.{name} as restrictive for select"
            " to authenticated using (((select auth.jwt()) ->> 'aal') = 'aal2');",
        ),
    ]
