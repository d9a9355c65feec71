"""`cliftonsites doctor`: check a database against what the schema promises.

Each check (`checks/`, one module per thing checked) compares the catalog snapshot
(`catalog.py`) with the promises of `expected.py` and returns findings. A finding says
what is wrong, why it matters, and the SQL that fixes it. `fail` findings make the
command exit non-zero; `warn` findings are worth a look but do not break anything the
design relies on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg

from dashboard.ops.catalog import Catalog, read_catalog
from dashboard.ops.checks.indexes import check_indexes
from dashboard.ops.checks.migrations import check_migrations
from dashboard.ops.checks.objects import check_functions, check_tables, check_triggers, check_views
from dashboard.ops.checks.outreach import check_outreach
from dashboard.ops.checks.policies import check_policies
from dashboard.ops.checks.realtime import check_realtime
from dashboard.ops.finding import Finding


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    passed: dict[str, str] = field(default_factory=dict)  # check -> what was verified

    @property
    def ok(self) -> bool:
        return not any(f.severity == "fail" for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "passed": self.passed,
            "findings": [asdict(f) for f in self.findings],
        }


Check = Callable[[Catalog], tuple[list[Finding], str]]


def diagnose(catalog: Catalog) -> Report:
    report = Report()
    checks: dict[str, Check] = {
        "tables": check_tables,
        "policies": check_policies,
        "functions": check_functions,
        "triggers": check_triggers,
        "views": check_views,
        "indexes": check_indexes,
        "migrations": check_migrations,
        "realtime": check_realtime,
        "outreach": check_outreach,
    }
    for name, check in checks.items():
        findings, verified = check(catalog)
        report.findings.extend(findings)
        if not any(f.severity == "fail" for f in findings):
            report.passed[name] = verified
    return report


def run_doctor(url: str) -> tuple[Report, Catalog]:
    """Read the catalog once (read-only) and diagnose it."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.read_only = True
        catalog = read_catalog(conn)
    return diagnose(catalog), catalog
