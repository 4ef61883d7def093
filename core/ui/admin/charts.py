"""The occupancy and queue charts: one small panel per group, so 1 or 20 groups both read.

Every group gets its own panel on a shared time axis (UTC, as the headings
say) with its own count axis, since limits differ. Occupancy is a filled
step line with the group's limit as a dashed line beside it: a panel whose
fill touches the dashes is a group running flat out. Queue length is a
filled step line of its own. Colours mean the same thing in every panel, so
the legend is shown once.

The live view redraws these every second, so they are built for speed: the
grid is laid out by hand (Plotly's ``make_subplots`` and ``add_trace`` cost
a second for 20 groups), and a step line keeps only the points where its
value changes, which draws the same line from a fraction of the data.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import plotly.graph_objects as go

from core.groups import group_sort_key
from core.metrics import OccupancyPoint, Series

RUNNING_COLOR = "#2563eb"
LIMIT_COLOR = "#475569"
QUEUE_COLOR = "#ea580c"
PANEL_HEIGHT_PX = 160
HEADER_PX = 70
MAX_COLUMNS = 4
_GAP_X = 0.025  # between panels, as a fraction of the width
_TITLE_PX = 24  # room for a panel's title above it
_TICKS_PX = 26  # room for its time labels below it


def _naive_utc(at: datetime) -> datetime:
    # Plotly draws naive times as they are; the headings say they are UTC.
    return at.astimezone(UTC).replace(tzinfo=None)


def _changes(
    points: list[OccupancyPoint], value: Callable[[OccupancyPoint], int]
) -> tuple[list[datetime], list[int]]:
    """The (time, value) pairs where a step line changes, plus its last point."""
    xs: list[datetime] = []
    ys: list[int] = []
    for index, point in enumerate(points):
        y = value(point)
        if not ys or y != ys[-1] or index == len(points) - 1:
            xs.append(_naive_utc(point.at))
            ys.append(y)
    return xs, ys


def _step(
    xs: list[datetime], ys: list[int], label: str, first: bool, axes: str, **line: Any
) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "lines",
        "x": xs,
        "y": ys,
        "xaxis": f"x{axes}",
        "yaxis": f"y{axes}",
        "name": label,
        "legendgroup": label,
        "showlegend": first,
        "line": {"shape": "hv", **line},
        "hovertemplate": f"{label}: %{{y}}<extra></extra>",
    }


def _small_multiples(
    series: Series,
    start: datetime,
    end: datetime,
    traces: Callable[[list[OccupancyPoint], bool, str], list[dict[str, Any]]],
) -> go.Figure:
    """A grid of one panel per group, each drawn by ``traces(points, first, axes)``."""
    groups = sorted(series, key=group_sort_key)
    columns = max(1, min(MAX_COLUMNS, len(groups)))
    rows = max(1, math.ceil(len(groups) / columns))
    height = HEADER_PX + rows * PANEL_HEIGHT_PX
    row_share = 1 / rows
    plot_px = height - HEADER_PX  # the margins take the header's room
    title_gap = _TITLE_PX / plot_px
    ticks_gap = _TICKS_PX / plot_px
    # Times of day for up to a day; beyond that, the day as well.
    time_format = "%H:%M" if end - start <= timedelta(days=1) else "%a %d, %H:%M"
    layout: dict[str, Any] = {
        "height": height,
        "margin": {"l": 10, "r": 10, "t": HEADER_PX, "b": 0},
        "legend": {"orientation": "h", "yref": "container", "y": 1.0, "yanchor": "top"}
        | {"x": 1.0, "xanchor": "right"},
        "hovermode": "x unified",
        "uirevision": "keep-zoom",
        "annotations": [],
    }
    data: list[dict[str, Any]] = []
    for index, name in enumerate(groups):
        row, column = divmod(index, columns)
        axes = "" if index == 0 else str(index + 1)
        left = column / columns + (_GAP_X if column else 0)
        right = (column + 1) / columns - (_GAP_X if column < columns - 1 else 0)
        top = 1 - row * row_share - title_gap
        bottom = 1 - (row + 1) * row_share + ticks_gap
        panel = traces(series[name], index == 0, axes)
        peak = max([1, *(y for trace in panel for y in trace["y"])])
        layout[f"xaxis{axes}"] = {
            "domain": [left, right],
            "anchor": f"y{axes}",
            "type": "date",
            "range": [_naive_utc(start), _naive_utc(end)],
            "tickformat": time_format,
            "showgrid": False,
            **({"matches": "x"} if index else {}),
        }
        layout[f"yaxis{axes}"] = {
            "domain": [bottom, top],
            "anchor": f"x{axes}",
            "range": [0, peak * 1.15],
            "dtick": max(1, math.ceil(peak / 4)),
            "tickformat": "d",
        }
        layout["annotations"].append(
            {
                # Plotly reads tags in text (<a href>, <b>); a name from code or SQL could hold one.
                "text": f"Group {html.escape(name)}",
                "x": (left + right) / 2,
                "y": top,
                "xref": "paper",
                "yref": "paper",
                "xanchor": "center",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 13},
            }
        )
        data.extend(panel)
    return go.Figure(data=data, layout=layout)


def occupancy_figure(series: Series, start: datetime, end: datetime) -> go.Figure:
    """Runs at once per group (filled steps) against the group's limit (dashed)."""

    def traces(points: list[OccupancyPoint], first: bool, axes: str) -> list[dict[str, Any]]:
        running = _step(
            *_changes(points, lambda p: p.running), "running", first, axes, color=RUNNING_COLOR
        )
        limit = _step(
            *_changes(points, lambda p: p.limit),
            "limit",
            first,
            axes,
            color=LIMIT_COLOR,
            width=1.5,
            dash="dash",
        )
        return [running | {"fill": "tozeroy"}, limit]

    return _small_multiples(series, start, end, traces)


def queue_figure(series: Series, start: datetime, end: datetime) -> go.Figure:
    """Requests waiting per group (filled steps)."""

    def traces(points: list[OccupancyPoint], first: bool, axes: str) -> list[dict[str, Any]]:
        queued = _step(
            *_changes(points, lambda p: p.queued), "queued", first, axes, color=QUEUE_COLOR
        )
        return [queued | {"fill": "tozeroy"}]

    return _small_multiples(series, start, end, traces)
