"""The doctor's check on indexes: every declared index present and valid, every
foreign key indexed, no two identical."""

from __future__ import annotations

from collections import defaultdict

from dashboard.ops import expected as exp
from dashboard.ops.catalog import Catalog
from dashboard.ops.finding import Finding


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
