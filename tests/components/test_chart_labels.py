"""Chart labels are text: plotly reads labels, titles and hover text as a subset of HTML,
so every label that comes from the database is escaped by `components.charts`.

The figures are drawn by the real plotly.js (the copy the `plotly` package ships) in
headless Chromium, and the test looks at the SVG plotly made.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import plotly
import pytest

from dashboard.components import charts
from dashboard.data.models import FunnelRow
from tests import e2e_support as e2e

HOSTILE_REGION = '<a href="https://evil.example/">NJ</a>'
HOSTILE_CATEGORY = "<b>bakery</b> & <br>cafe"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def targets() -> list[dict[str, Any]]:
    return [
        {"position": 1, "city": "Clifton", "region": HOSTILE_REGION, "category": HOSTILE_CATEGORY,
         "status": "done", "businesses_found": 3},
        {"position": 2, "city": "Paterson", "region": "NJ", "category": "florist",
         "status": "pending", "businesses_found": 0},
    ]  # fmt: skip


def test_labels_titles_and_hover_text_are_escaped_in_the_figures() -> None:
    heatmap = charts.heatmap_figure(targets())["data"][0]
    assert 'Clifton, &lt;a href="https://evil.example/"&gt;NJ&lt;/a&gt;' in heatmap["y"]
    assert "&lt;b&gt;bakery&lt;/b&gt; &amp; &lt;br&gt;cafe" in heatmap["x"]
    row = FunnelRow(
        target_id=1, category="<i>x</i>", city="Clifton", region=HOSTILE_REGION,
        identified=1, deployed=1, outreach_started=0, replied=0, claimed=0,
    )  # fmt: skip
    title = charts.funnel_figure(row)["layout"]["title"]["text"]
    assert "<a" not in title and "<i>" not in title


@pytest.fixture(scope="module")
def browser() -> Iterator[e2e.Browser]:
    reason = e2e.browser_missing_reason()
    if reason is not None:
        pytest.skip(reason)
    chrome = e2e.start_browser()
    yield chrome
    chrome.quit()


def draw(browser: e2e.Browser, folder: Path, figure: dict[str, Any]) -> dict[str, Any]:
    """Draw `figure` with plotly.js and report the links and the texts in its SVG."""
    page = folder / "chart.html"
    page.write_text(
        "<!doctype html><html><body><div id='chart' style='width:900px;height:500px'></div>"
        f"<script src='{PLOTLY_JS.as_uri()}'></script>"
        f"<script>window.drawn = Plotly.newPlot('chart', {json.dumps(figure)})"
        ".then(() => true);</script></body></html>"
    )
    driver = browser.driver
    driver.get(page.as_uri())
    e2e.wait_until(
        lambda: driver.execute_script("return !!document.querySelector('#chart .main-svg')"),
        10,
        "plotly to draw the chart",
    )
    result: dict[str, Any] = driver.execute_script(
        "const svg = document.getElementById('chart');"
        "return {links: svg.querySelectorAll('a').length,"
        " bold: svg.querySelectorAll('tspan[style*=\"bold\"]').length,"
        " texts: [...svg.querySelectorAll('text')].map(t => t.textContent)};"
    )
    return result


@pytest.mark.browser
def test_a_region_holding_a_link_is_drawn_as_text_not_as_a_link(
    browser: e2e.Browser, tmp_path: Path
) -> None:
    drawn = draw(browser, tmp_path, charts.heatmap_figure(targets()))
    assert drawn["links"] == 0
    assert drawn["bold"] == 0
    assert f"Clifton, {HOSTILE_REGION}" in drawn["texts"]
    assert HOSTILE_CATEGORY in drawn["texts"]


@pytest.mark.browser
def test_the_same_label_unescaped_would_have_become_a_link(
    browser: e2e.Browser, tmp_path: Path
) -> None:
    """The check above can fail: plotly turns the raw label into an <a> element."""
    figure = charts.heatmap_figure(targets())
    figure["data"][0]["y"] = [f"Clifton, {HOSTILE_REGION}", "Paterson, NJ"]
    assert draw(browser, tmp_path, figure)["links"] == 1
