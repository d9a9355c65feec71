"""The doctor's check on live updates: the watched tables in the supabase_realtime
publication and, locally, their NOTIFY triggers."""

from __future__ import annotations

from dashboard.ops import expected as exp
from dashboard.ops.catalog import Catalog
from dashboard.ops.checks import MIGRATE
from dashboard.ops.finding import Finding


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
