"""Plotly figures of task results: built here, shown by ``results``, testable without a page."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

from core.tasks.classifier import ClassifierResult
from core.tasks.matmul import MatmulResult

CLASS_COLOURS = qualitative.Plotly
"""Enough distinct colours for the most classes the classifier offers (six spiral arms)."""

CHART_HEIGHT = 380
MARGIN = {"l": 10, "r": 10, "t": 30, "b": 10}


def matmul_timings(result: MatmulResult) -> go.Figure:
    """Time per product for each timed repeat, with the mean as a dashed line."""
    milliseconds = np.array(result.seconds_per_product) * 1e3
    repeats = np.arange(1, len(milliseconds) + 1)
    figure = go.Figure(
        go.Bar(
            x=repeats,
            y=milliseconds,
            marker_color=CLASS_COLOURS[0],
            hovertemplate="Repeat %{x}: %{y:.3g} ms per product<extra></extra>",
        )
    )
    figure.add_hline(
        y=float(milliseconds.mean()),
        line_dash="dash",
        annotation_text=f"mean {milliseconds.mean():.3g} ms",
        annotation_position="top left",
    )
    figure.update_layout(
        title="Time per product, each repeat",
        xaxis_title="Repeat",
        yaxis_title="Milliseconds",
        xaxis={"tickmode": "linear", "dtick": max(1, len(repeats) // 20)},
        height=CHART_HEIGHT,
        margin=MARGIN,
        showlegend=False,
    )
    return figure


def classifier_loss(result: ClassifierResult) -> go.Figure:
    """Training loss per epoch on a log scale, where late progress is still visible."""
    epochs = np.arange(1, len(result.loss_curve) + 1)
    figure = go.Figure(
        go.Scatter(
            x=epochs,
            y=result.loss_curve,
            mode="lines",
            line_color=CLASS_COLOURS[0],
            hovertemplate="Epoch %{x}: loss %{y:.4f}<extra></extra>",
        )
    )
    figure.update_layout(
        title="Training loss",
        xaxis_title="Epoch",
        yaxis={"title": "Cross-entropy (log scale)", "type": "log", "dtick": 1},
        height=CHART_HEIGHT,
        margin=MARGIN,
        showlegend=False,
    )
    return figure


def _class_colourscale(classes: int) -> list[tuple[float, str]]:
    """A stepped scale giving each class value 0..classes-1 exactly one colour."""
    scale = []
    for index in range(classes):
        colour = CLASS_COLOURS[index % len(CLASS_COLOURS)]
        scale += [(index / classes, colour), ((index + 1) / classes, colour)]
    return scale


def classifier_boundary(result: ClassifierResult) -> go.Figure:
    """Predicted class over the plane (its probability on hover), with the data on top.

    Training points are dots and held-out points are crosses, so one can see
    where the model generalises and where it only memorised.
    """
    figure = go.Figure(
        go.Heatmap(
            x=result.grid_x,
            y=result.grid_y,
            z=result.grid_class,
            customdata=result.grid_confidence,
            colorscale=_class_colourscale(result.classes),
            zmin=-0.5,
            zmax=result.classes - 0.5,
            opacity=0.35,
            showscale=False,
            hovertemplate="class %{z} (p = %{customdata:.2f})<extra></extra>",
        )
    )
    for label in range(result.classes):
        colour = CLASS_COLOURS[label % len(CLASS_COLOURS)]
        for held_out, name, symbol in ((False, "train", "circle"), (True, "test", "x")):
            chosen = (result.labels == label) & (result.is_test == held_out)
            figure.add_trace(
                go.Scatter(
                    x=result.points[chosen, 0],
                    y=result.points[chosen, 1],
                    mode="markers",
                    name=f"class {label} ({name})",
                    marker={"color": colour, "symbol": symbol, "size": 5},
                    hoverinfo="skip",
                )
            )
    figure.update_layout(
        title="Decision boundary",
        height=CHART_HEIGHT,
        margin=MARGIN,
        showlegend=False,
        xaxis={"range": [float(result.grid_x[0]), float(result.grid_x[-1])]},
        yaxis={
            "range": [float(result.grid_y[0]), float(result.grid_y[-1])],
            "scaleanchor": "x",
        },
    )
    return figure
