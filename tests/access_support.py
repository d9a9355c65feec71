"""Helpers for the accessibility, keyboard and phone tests (no tests here): axe-core
from the `selenium-axe-python` package (its own copy of axe.min.js, nothing fetched
at run time), Chromium's device and colour-scheme emulation, and what a phone screen
shows.
"""

from __future__ import annotations

from typing import Any

DESKTOP = (1440, 900, False)
PHONE = (390, 844, True)
BLOCKING_IMPACTS = ("critical", "serious")


def serious_violations(driver: Any) -> list[dict[str, Any]]:
    """axe-core's critical and serious findings on the page now on screen."""
    from selenium_axe_python import Axe

    axe = Axe(driver)
    axe.inject()
    results = axe.run()
    return [v for v in results["violations"] if v.get("impact") in BLOCKING_IMPACTS]


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per rule with its first few offending elements, for an assertion message."""
    lines = []
    for v in violations:
        nodes = "; ".join(
            f"{n['target']} {n.get('failureSummary', '').splitlines()[-1:]}" for n in v["nodes"][:4]
        )
        lines.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])} nodes): {nodes}")
    return "\n".join(lines)


def emulate(driver: Any, size: tuple[int, int, bool], scheme: str = "light") -> None:
    """Show pages at `size` (width, height, is a phone) with `prefers-color-scheme`."""
    width, height, mobile = size
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
    )


def is_dark(driver: Any) -> bool:
    return "body--dark" in str(driver.execute_script("return document.body.className"))


OUTSIDE_SCRIPT = """
const width = arguments[1];
const box = document.querySelector(arguments[0]);
if (!box) return ['missing: ' + arguments[0]];
const out = [];
for (const el of [box, ...box.querySelectorAll('*')]) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 && r.height === 0) continue;
  if (r.left < -0.5 || r.right > width + 0.5) {
    const name = `${el.tagName.toLowerCase()}.${el.className}`;
    out.push(`${name} ${Math.round(r.left)}..${Math.round(r.right)}`);
  }
}
return out;
"""


def outside_viewport(driver: Any, selector: str, width: int) -> list[str]:
    """Elements in `selector` that reach past the left or right edge of a `width` screen
    (judged against the device width: an overflowing layout makes innerWidth grow)."""
    return list(driver.execute_script(OUTSIDE_SCRIPT, selector, width))
