"""What a task returns: its result as plain parts that one generic view shows.

A task builds a :class:`TaskResult` out of metrics, text, tables, images and
Plotly figures, so a task module needs no Streamlit and the same parts can be
shown, downloaded, tested or stored the same way for every task
(``core/ui/result_view.py`` draws them).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go


@dataclass(frozen=True)
class Metric:
    """One headline number, already formatted: e.g. ``Metric("Best", "41.2 TFLOP/s")``."""

    label: str
    value: str
    help: str = ""


@dataclass(frozen=True)
class Text:
    """A sentence or two, shown as plain text (never Markdown); "note" is shown small."""

    text: str
    style: Literal["body", "note"] = "body"


@dataclass(frozen=True)
class Table:
    """Rows of named values, shown as a sortable table with a CSV download."""

    rows: pd.DataFrame
    caption: str = ""


@dataclass(frozen=True)
class Image:
    """An RGB picture, shown losslessly with a PNG download named ``filename``."""

    pixels: np.ndarray
    """(height, width, 3) uint8."""
    caption: str = ""
    filename: str = "image.png"

    def png(self) -> bytes:
        """The picture encoded as PNG."""
        from PIL import Image as PILImage

        buffer = io.BytesIO()
        PILImage.fromarray(self.pixels, mode="RGB").save(buffer, format="PNG")
        return buffer.getvalue()


@dataclass(frozen=True)
class Figure:
    """A Plotly figure (its toolbar has the image download)."""

    figure: go.Figure
    caption: str = ""


@dataclass(frozen=True)
class Row:
    """Parts shown side by side, in equal columns."""

    parts: tuple[Part, ...]


Part = Metric | Text | Table | Image | Figure | Row


@dataclass(frozen=True)
class TaskResult:
    """A finished run's result: its parts in reading order. Consecutive metrics share a row."""

    parts: tuple[Part, ...] = field(default_factory=tuple)

    def of_kind(self, kind: type) -> list:
        """Every part of type ``kind``, also inside rows (for tests and downloads)."""
        found = []
        for part in self.parts:
            inner = part.parts if isinstance(part, Row) else (part,)
            found += [each for each in inner if isinstance(each, kind)]
        return found
