"""The one view of every task's result: its parts in order, with downloads.

A task returns a ``TaskResult`` of plain parts (``core/tasks/result.py``);
this draws them. Text is shown as text: a prompt a user typed, echoed back in
a caption, must not turn into Markdown.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import streamlit as st

from core.tasks.result import Figure, Image, Metric, Part, Row, Table, TaskResult, Text
from core.tasks.task import TaskSpec
from core.ui.wording import plain


def show_task_result(spec: TaskSpec, result: Any) -> None:
    """The task's own view if it declares one, else the generic view of its parts."""
    if spec.view:
        _view(spec.view)(result)
    else:
        show_result(result, key=spec.key)


def show_result(result: TaskResult, key: str) -> None:
    """Each part in order; a run of consecutive metrics shares one row.

    ``key`` makes download buttons unique on a page that shows several results.
    """
    metrics: list[Metric] = []
    for index, part in enumerate(result.parts):
        if isinstance(part, Metric):
            metrics.append(part)
            continue
        _show_metrics(metrics)
        metrics = []
        _show_part(part, f"{key}.{index}")
    _show_metrics(metrics)


def _show_metrics(metrics: list[Metric]) -> None:
    if not metrics:
        return
    for column, metric in zip(st.columns(len(metrics)), metrics, strict=True):
        column.metric(metric.label, metric.value, help=metric.help or None)


def _show_part(part: Part, key: str) -> None:
    if isinstance(part, Row):
        for index, (column, inner) in enumerate(
            zip(st.columns(len(part.parts)), part.parts, strict=True)
        ):
            with column:
                _show_part(inner, f"{key}.{index}")
    elif isinstance(part, Text):
        if part.style == "note":
            st.caption(plain(part.text))
        else:
            st.markdown(plain(part.text))
    elif isinstance(part, Table):
        st.dataframe(part.rows, hide_index=True)
        if part.caption:
            st.caption(plain(part.caption))
    elif isinstance(part, Image):
        st.image(part.pixels, caption=plain(part.caption) or None, output_format="PNG")
        st.download_button(
            "Download PNG",
            part.png(),
            file_name=part.filename,
            mime="image/png",
            icon=":material/download:",
            key=f"taskgate.download.{key}",
            on_click="ignore",
        )
    elif isinstance(part, Figure):
        st.plotly_chart(part.figure, key=f"taskgate.figure.{key}")
        if part.caption:
            st.caption(plain(part.caption))


def _view(reference: str) -> Callable[[Any], None]:
    """The function a "package.module:function" reference names, imported on first use."""
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)
