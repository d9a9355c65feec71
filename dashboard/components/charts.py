"""Plotly figures: throughput per bucket, the conversion funnel, the target grid heat map."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import plotly.graph_objects as go

from dashboard.data.models import FunnelRow, ThroughputPoint

TARGET_STATUS_LEVEL = {"skipped": -1, "pending": 0, "in_progress": 1, "done": 2}
FUNNEL_STAGES = (
    ("identified", "Identified"),
    ("deployed", "Deployed"),
    ("outreach_started", "Emailed"),
    ("replied", "Replied"),
    ("claimed", "Paid"),
)


def _layout(fig: go.Figure, title: str) -> go.Figure:
    fig.update_layout(
        title=title,
        margin={"l": 40, "r": 10, "t": 40, "b": 40},
        height=300,
        legend={"orientation": "h", "y": -0.2},
        template="plotly_white",
    )
    return fig


def throughput_figure(points: Sequence[ThroughputPoint], zone: ZoneInfo | None) -> go.Figure:
    """Identified, deployed and claimed per bucket; the x axis is labelled with its zone."""
    xs = [p.bucket.astimezone(zone) if zone else p.bucket for p in points]
    fig = go.Figure()
    for name in ("identified", "deployed", "claimed"):
        fig.add_trace(go.Bar(x=xs, y=[getattr(p, name) for p in points], name=name.title()))
    fig.update_xaxes(title_text=f"time ({zone.key if zone else 'UTC'})")
    fig.update_layout(barmode="group")
    return _layout(fig, "Throughput per hour")


def funnel_figure(row: FunnelRow | None) -> go.Figure:
    """Identified → deployed → emailed → replied → paid, for one target or overall."""
    fig = go.Figure()
    if row is not None:
        fig.add_trace(
            go.Funnel(
                y=[label for _, label in FUNNEL_STAGES],
                x=[getattr(row, key) for key, _ in FUNNEL_STAGES],
                textinfo="value+percent initial",
            )
        )
    where = "all targets" if row is None or row.target_id is None else _target_label(row)
    return _layout(fig, f"Conversion funnel: {where}")


def _target_label(row: FunnelRow) -> str:
    return f"{row.category} in {row.city}, {row.region}"


def heatmap_figure(targets: Sequence[Mapping[str, Any]]) -> go.Figure:
    """The search grid: cities down, categories across; colour = status, hover = found."""
    cities = sorted({f"{t['city']}, {t['region']}" for t in targets})
    categories = sorted({str(t["category"]) for t in targets})
    row_of = {c: i for i, c in enumerate(cities)}
    col_of = {c: i for i, c in enumerate(categories)}
    z: list[list[float | None]] = [[None] * len(categories) for _ in cities]
    text: list[list[str]] = [[""] * len(categories) for _ in cities]
    for t in targets:
        i, j = row_of[f"{t['city']}, {t['region']}"], col_of[str(t["category"])]
        z[i][j] = TARGET_STATUS_LEVEL.get(str(t["status"]), 0)
        text[i][j] = f"#{t['position']} {t['status']}, found {t['businesses_found']}"
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=categories,
            y=cities,
            text=text,
            hoverinfo="text+x+y",
            zmin=-1,
            zmax=2,
            colorscale=[[0, "#9ca3af"], [0.33, "#e5e7eb"], [0.66, "#f59e0b"], [1, "#16a34a"]],
            showscale=False,
        )
    )
    return _layout(fig, "Target grid (grey skipped · light pending · amber current · green done)")
