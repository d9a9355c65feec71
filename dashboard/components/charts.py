"""Plotly figures as plain dicts: throughput per bucket, the conversion funnel, the
target grid heat map.

Plain dicts, not `go.Figure`s, and no plotly template: NiceGUI copies a figure into
the element's props as nested observable dicts and lists, so a `go.Figure` with the
expanded `plotly_white` template (7 KB of JSON, ~150 KB of Python objects with the
figure itself) cost that much per chart per browser. `shared_figure` turns a figure
into NiceGUI's observable form once, so every page showing the same figure holds one
object instead of a copy each (see docs/PERFORMANCE.md, memory). `SharedOptionsSelect`
does the same for a select's option list (the funnel's ~120 targets).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from nicegui import ui
from nicegui.observables import ObservableDict, ObservableList

from dashboard.data.models import FunnelRow, ThroughputPoint

Figure = dict[str, Any]
TARGET_STATUS_LEVEL = {"skipped": -1, "pending": 0, "in_progress": 1, "done": 2}
FUNNEL_STAGES = (
    ("identified", "Identified"),
    ("deployed", "Deployed"),
    ("outreach_started", "Emailed"),
    ("replied", "Replied"),
    ("claimed", "Paid"),
)
_AXIS = {"gridcolor": "#e5e7eb", "zerolinecolor": "#e5e7eb", "automargin": True}
#: Transparent panels, so a chart takes the card's colour in light and dark mode (its
#: text and grid lines follow the theme through dashboard/assets/app.css).
_LAYOUT: dict[str, Any] = {
    "margin": {"l": 40, "r": 10, "t": 40, "b": 40},
    "height": 300,
    "legend": {"orientation": "h", "y": -0.35},
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
}
#: No toolbar: on a phone it covered the chart titles, and nothing here needs zoom tools.
_CONFIG = {"displaylogo": False, "displayModeBar": False}


def plot_text(value: object) -> str:
    """A label as plotly shows it: plotly reads labels, titles and hover text as a subset
    of HTML (`<a href>`, `<b>`, `<br>`, entities), so a region named `<a href=...>` would
    become a link. Escaped, it is shown as the very text, angle brackets included."""
    return escape(str(value), quote=False)


def _figure(data: list[dict[str, Any]], title: str, x_title: str | None = None) -> Figure:
    """A figure whose `title` and `x_title` are plain text (escaped here)."""
    layout = {
        **_LAYOUT,
        "title": {"text": plot_text(title)},
        "xaxis": {**_AXIS, "title": {"text": plot_text(x_title)}} if x_title else dict(_AXIS),
        "yaxis": dict(_AXIS),
    }
    return {"data": data, "layout": layout, "config": dict(_CONFIG)}


def shared_figure(figure: Figure) -> ObservableDict:
    """The figure in the form NiceGUI keeps in props; an element given it keeps this very
    object (NiceGUI only registers itself as an observer), so pages can share it. Never
    mutate a shared figure: build a new one."""
    return ObservableDict(figure)


def shared_options(options: Mapping[Any, str]) -> ObservableList:
    """A select's option list in the form NiceGUI keeps in props (`{'value': index,
    'label': label}` per option, in order), built once to be shared by every page."""
    return ObservableList(
        [{"value": i, "label": label} for i, label in enumerate(options.values())]
    )


class SharedOptionsSelect(ui.select):
    """A `ui.select` whose option list is one shared observable list: NiceGUI copies a
    plain list into an observable dict per option for every page (~95 KB for 120
    targets), but keeps a list it is handed as is. `show_options(options, shared)`
    takes the options and `shared_options(options)` of the very same mapping."""

    def __init__(self, options: dict[Any, str], shared: ObservableList, **kwargs: Any) -> None:
        self._shared: ObservableList | None = shared
        super().__init__(options, **kwargs)

    def show_options(self, options: dict[Any, str], shared: ObservableList, value: Any) -> None:
        self._shared = shared
        self.set_options(options, value=value)

    # Overrides a private NiceGUI method: 3.18 has no public way to hand a select a list
    # it keeps (set_options and update() always rebuild it here). The NiceGUI code this
    # relies on is pinned by tests/test_charts_shared_select.py, which fails when it changes.
    def _update_options(self) -> None:
        shared = self._shared
        if shared is None or [o["label"] for o in shared] != self._labels:
            super()._update_options()  # not the list of these options: NiceGUI's own copy
            return
        before = self.value
        self._props["options"] = shared
        self._props[self.VALUE_PROP] = self._value_to_model_value(before)
        self.value = before if before in self._values else None


def throughput_figure(points: Sequence[ThroughputPoint], zone: ZoneInfo | None) -> Figure:
    """Identified, deployed and claimed per bucket; the x axis is labelled with its zone."""
    xs = [p.bucket.astimezone(zone) if zone else p.bucket for p in points]
    bars = [
        {"type": "bar", "x": xs, "y": [getattr(p, name) for p in points], "name": name.title()}
        for name in ("identified", "deployed", "claimed")
    ]
    figure = _figure(bars, "Throughput per hour", f"time ({zone.key if zone else 'UTC'})")
    figure["layout"]["barmode"] = "group"
    return figure


def funnel_figure(row: FunnelRow | None) -> Figure:
    """Identified → deployed → emailed → replied → paid, for one target or overall."""
    data = []
    if row is not None:
        data.append(
            {
                "type": "funnel",
                "y": [label for _, label in FUNNEL_STAGES],
                "x": [getattr(row, key) for key, _ in FUNNEL_STAGES],
                "textinfo": "value+percent initial",
            }
        )
    where = "all targets" if row is None or row.target_id is None else _target_label(row)
    return _figure(data, f"Conversion funnel: {where}")


def _target_label(row: FunnelRow) -> str:
    return f"{row.category} in {row.city}, {row.region}"


def heatmap_figure(targets: Sequence[Mapping[str, Any]]) -> Figure:
    """The search grid: cities down, categories across; colour = status, hover = found."""
    cities = sorted({plot_text(f"{t['city']}, {t['region']}") for t in targets})
    categories = sorted({plot_text(t["category"]) for t in targets})
    row_of = {c: i for i, c in enumerate(cities)}
    col_of = {c: i for i, c in enumerate(categories)}
    z: list[list[float | None]] = [[None] * len(categories) for _ in cities]
    text: list[list[str]] = [[""] * len(categories) for _ in cities]
    for t in targets:
        i = row_of[plot_text(f"{t['city']}, {t['region']}")]
        j = col_of[plot_text(t["category"])]
        z[i][j] = TARGET_STATUS_LEVEL.get(str(t["status"]), 0)
        text[i][j] = plot_text(f"#{t['position']} {t['status']}, found {t['businesses_found']}")
    heatmap = {
        "type": "heatmap",
        "z": z,
        "x": categories,
        "y": cities,
        "text": text,
        "hoverinfo": "text+x+y",
        "zmin": -1,
        "zmax": 2,
        "colorscale": [[0, "#9ca3af"], [0.33, "#e5e7eb"], [0.66, "#f59e0b"], [1, "#16a34a"]],
        "showscale": False,
    }
    # Two short lines: on a phone one long title line was cut at the screen's edge.
    title = "Target grid<br><sub>grey skipped · light pending · amber current · green done</sub>"
    figure = _figure([heatmap], title)
    figure["layout"]["margin"] = {**_LAYOUT["margin"], "t": 60}
    return figure
