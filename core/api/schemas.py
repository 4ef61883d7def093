"""What the API sends: tasks with their inputs, runs, results, refusals — plain JSON.

The shapes are built here once, from the same objects the pages draw
(``FieldSpec``, ``RunView``, ``TaskResult``), so a field added to a form or a
run shows up in the API without a second description; the OpenAPI document
(core/api/openapi.py) describes these shapes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import numpy as np
from starlette.responses import JSONResponse

from core.run_watch import RunView
from core.tasks.params import FieldSpec
from core.tasks.registry import TaskSpec
from core.tasks.result import Figure, Image, Metric, Part, Row, Table, TaskResult, Text
from db.models import TaskRun

FINAL = ("succeeded", "failed", "cancelled", "timed_out", "rejected", "lost")


def refusal(status: int, sentence: str, **extra: Any) -> JSONResponse:
    """A 4xx/5xx answer: ``{"error": sentence}`` with the page's own sentence."""
    return JSONResponse({"error": sentence, **extra}, status_code=status)


def _json_value(value: object) -> object:
    if isinstance(value, np.ndarray):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def field_json(field: FieldSpec) -> dict[str, Any]:
    """One input as a client needs it to fill it in: kind, bounds, choices, default."""
    described: dict[str, Any] = {
        "name": field.name,
        "label": field.label,
        "kind": field.kind,
        "default": _json_value(field.default),
        "help": field.help,
    }
    if field.kind in ("int", "float"):
        described.update(min=field.min, max=field.max, step=field.step)
    if field.kind == "text":
        described["max_length"] = field.max
    if field.kind == "choice":
        described["choices"] = list(field.choices)
    if field.kind == "image":
        described.update(max_bytes=field.max, max_pixels=field.max_pixels, required=field.required)
    return described


def task_json(spec: TaskSpec, fields: Iterable[FieldSpec], group: str) -> dict[str, Any]:
    return {
        "key": spec.key,
        "title": spec.title,
        "description": spec.description,
        "group": group,
        "inputs": [field_json(field) for field in fields],
        "quick_settings": {name: _json_value(v) for name, v in spec.quick_settings.items()},
    }


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


def version_of(view: RunView) -> str:
    """A short tag of what a page shows of the run: ``wait?since=`` returns when it changes."""
    return hashlib.sha256(repr(view.shown()).encode()).hexdigest()[:16]


def run_json(view: RunView, source: str | None = None) -> dict[str, Any]:
    """A run as its owner sees it: status, place in the queue, ETA, progress, times."""
    return {
        "id": view.id,
        "task": view.task,
        "group": view.group,
        "status": view.status,
        "final": view.status in FINAL,
        "settings": {name: _json_value(value) for name, value in view.params.items()},
        "source": source,
        "granted": view.granted,
        "position": view.position,
        "queued": view.queued,
        "paused": view.paused,
        "eta_s": view.eta_s,
        "progress": {"fraction": view.progress_fraction, "message": view.progress_message},
        "device": view.device or None,
        "message": view.error,
        "admin_note": view.admin_note,
        "cancel_requested": view.cancel_requested,
        "enqueued_at": _time(view.enqueued_at),
        "started_at": _time(view.started_at),
        "finished_at": _time(view.finished_at),
        "waited_s": _seconds(view.enqueued_at, view.started_at),
        "ran_s": _seconds(view.started_at, view.finished_at),
        "version": version_of(view),
    }


def history_json(row: TaskRun) -> dict[str, Any]:
    """A run from the owner's list (``My runs``): no queue place, read as stored."""
    return {
        "id": row.id,
        "task": row.task,
        "group": row.group_name,
        "status": row.status,
        "final": row.status in FINAL,
        "source": row.source,
        "settings": row.params or {},
        "message": row.error,
        "enqueued_at": _time(row.enqueued_at),
        "started_at": _time(row.started_at),
        "finished_at": _time(row.finished_at),
    }


def flat_parts(result: TaskResult) -> list[Part]:
    """The result's parts in reading order, rows opened: what part indexes count."""
    flat: list[Part] = []
    for part in result.parts:
        flat.extend(part.parts if isinstance(part, Row) else (part,))
    return flat


def result_json(result: TaskResult, part_url: str) -> dict[str, Any]:
    """Each part as JSON; images and tables also by ``part_url``/INDEX (PNG, CSV)."""
    parts = []
    for index, part in enumerate(flat_parts(result)):
        described: dict[str, Any] = {"index": index}
        if isinstance(part, Metric):
            described.update(kind="metric", label=part.label, value=part.value, help=part.help)
        elif isinstance(part, Text):
            described.update(kind="text", text=part.text, style=part.style)
        elif isinstance(part, Table):
            split = json.loads(part.rows.to_json(orient="split", index=False))
            described.update(
                kind="table",
                caption=part.caption,
                columns=split["columns"],
                rows=split["data"],
                url=f"{part_url}/{index}",
                media_type="text/csv",
            )
        elif isinstance(part, Image):
            height, width = part.pixels.shape[:2]
            described.update(
                kind="image",
                caption=part.caption,
                filename=part.filename,
                width=width,
                height=height,
                url=f"{part_url}/{index}",
                media_type="image/png",
            )
        elif isinstance(part, Figure):
            described.update(
                kind="figure", caption=part.caption, figure=json.loads(part.figure.to_json())
            )
        parts.append(described)
    return {"parts": parts}
