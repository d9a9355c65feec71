"""`make bench`: run every benchmark in turn, write each one's json, print one table.

Usage: python -m bench [--only name,name] [--skip name,name]
A benchmark that fails is reported and the others still run; the exit status is 1
when any failed (a missed goal is a result, not a failure).
"""

from __future__ import annotations

import importlib
import sys
import time
import traceback

from bench.common import ROOT, Result, progress, table, write

ORDER = (
    "cold_start",
    "live_browser",
    "fanout",
    "memory",
    "page_end",
    "claims",
    "scale",
    "claim_live",
    "health",
    "page_weight",
)


def selected(argv: list[str]) -> list[str]:
    def names(flag: str) -> set[str]:
        if flag not in argv:
            return set()
        chosen = set(argv[argv.index(flag) + 1].split(","))
        unknown = chosen - set(ORDER)
        if unknown:
            raise SystemExit(f"unknown benchmark(s) {sorted(unknown)}: choose from {ORDER}")
        return chosen

    only, skip = names("--only"), names("--skip")
    return [n for n in ORDER if (not only or n in only) and n not in skip]


def main() -> int:
    results: list[Result] = []
    failed: list[str] = []
    for name in selected(sys.argv[1:]):
        progress(f"=== {name} ===")
        began = time.monotonic()
        try:
            result: Result = importlib.import_module(f"bench.{name}").run()
        except Exception:
            traceback.print_exc()
            failed.append(name)
            continue
        result.seconds = time.monotonic() - began
        path = write(result)
        progress(f"{name} done in {result.seconds:.0f} s -> {path.relative_to(ROOT)}")
        results.append(result)
    print(table(results))
    for r in results:
        for note in r.notes:
            print(f"  {r.name}: {note}")
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
