"""Print the latest results (bench/results/*.json) as the Markdown table that
docs/PERFORMANCE.md carries: `python -m bench.report`."""

from __future__ import annotations

import json

from bench.common import RESULTS

ORDER = ("live_browser", "fanout", "memory", "scale", "claims", "cold_start", "health")


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return ""
    if unit == "x":  # a ratio: 0.666 is not 0.7
        return f"{value:.2f}"
    return f"{value:,.1f}" if abs(value) < 10_000 else f"{value:,.0f}"


def main() -> None:
    print("| benchmark | figure | measured | goal | met | same-run baseline | ratio | date |")
    print("|---|---|---|---|---|---|---|---|")
    for name in ORDER:
        path = RESULTS / f"{name}.json"
        if not path.exists():
            continue
        body = json.loads(path.read_text())
        for f in body["figures"]:
            met = "" if f["met"] is None else ("yes" if f["met"] else "**no**")
            base = "" if f["baseline"] is None else f"{fmt(f['baseline'])} ({f['baseline_name']})"
            ratio = "" if f["ratio"] is None else f"{f['ratio']}x"
            value = f"{fmt(f['value'], f['unit'])} {f['unit']}"
            print(f"| {name} | {f['name']} | {value} | {f['goal'] or ''}"
                  f" | {met} | {base} | {ratio} | {body['date'][:16]} |")  # fmt: skip


if __name__ == "__main__":
    main()
