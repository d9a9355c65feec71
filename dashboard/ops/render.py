"""Plain-text rendering for the terminal: aligned tables and the doctor's report."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from dashboard.components.timefmt import format_time
from dashboard.ops.doctor import Report


def safe_url(url: str) -> str:
    """The URL without its password, for printing."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, width: int = 60) -> str:
    """An aligned text table; long cells are cut to `width` characters."""
    text = [[cell(v)[:width] for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in text)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in text]
    return "\n".join(line.rstrip() for line in lines)


def doctor_text(report: Report, *, url: str, version: str, mode: str) -> str:
    lines = [f"doctor: {safe_url(url)}  (PostgreSQL {version}, {mode})", ""]
    checks = list(dict.fromkeys([*report.passed, *(f.check for f in report.findings)]))
    for check in checks:
        findings = [f for f in report.findings if f.check == check]
        failed = any(f.severity == "fail" for f in findings)
        status = "FAIL" if failed else ("warn" if findings else "ok")
        lines.append(f"  {status:<5} {check:<11} {report.passed.get(check, '')}".rstrip())
        for f in findings:
            mark = "x" if f.severity == "fail" else "!"
            lines.append(f"        {mark} {f.problem}")
            lines.append(f"          why: {f.why}")
            for i, fix in enumerate(f.fix.splitlines()):
                lines.append(f"          {'fix: ' if i == 0 else '     '}{fix}")
    fails = sum(f.severity == "fail" for f in report.findings)
    warns = len(report.findings) - fails
    lines += ["", f"{fails} failed, {warns} warning(s)" if report.findings else "all checks passed"]
    return "\n".join(lines)
