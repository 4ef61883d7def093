"""What a task is: one declaration, ``TASK = TaskSpec(...)``, in the task's own module.

A task module holds everything about its task: the title and description the
pages show, the group its runs go through until an admin moves it, its inputs
(``FieldSpec``), the function that runs it and, optionally, extra checks on its
inputs and a view of its own. :mod:`core.tasks.registry` finds the modules;
nothing else lists tasks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch

from core.tasks.device import pick_device
from core.tasks.params import FieldSpec, FieldValue, parse_fields
from core.tasks.progress import Progress
from core.tasks.result import TaskResult


class ParseFn(Protocol):
    def __call__(self, raw: Mapping[str, object], device: torch.device) -> Any: ...


class TaskFn(Protocol):
    def __call__(self, params: Any, progress: Progress, device: torch.device) -> TaskResult: ...


@dataclass(frozen=True)
class TaskSpec:
    """One task, declared once.

    ``fn(params, progress, device)`` runs it and returns a :class:`TaskResult`;
    ``params`` is what :meth:`parse` made of the form's values: by default a dict of
    the fields' values, or whatever ``parse_params`` returns when the task has
    checks across fields or the device (it should call ``parse_fields`` first).
    """

    key: str
    """Stable name: the page's URL, and the ``task`` recorded with every run."""
    title: str
    description: str
    group: str
    """The group this task's runs go through until an admin assigns it another."""
    fields: tuple[FieldSpec, ...]
    fn: TaskFn
    parse_params: ParseFn | None = None
    icon: str = ":material/play_circle:"
    """A Material icon for the navigation and Home, e.g. ":material/grid_on:"."""
    quick_settings: Mapping[str, FieldValue] = field(default_factory=dict)
    """Settings that finish in well under a second on a small CPU: for tests and demos."""
    view: str = ""
    """Optional "package.module:function" that draws the result instead of the generic
    view; it may use Streamlit, and is imported only when a result is shown."""

    @property
    def defaults(self) -> dict[str, FieldValue]:
        return {spec.name: spec.default for spec in self.fields}

    def fields_for(self, device: torch.device) -> tuple[FieldSpec, ...]:
        """The inputs with the bounds that apply on ``device``, as the form shows them."""
        return tuple(spec.for_device(device) for spec in self.fields)

    def parse(self, raw: Mapping[str, object], device: torch.device | None = None) -> Any:
        """Check ``raw`` for a run on ``device`` (default: the fastest present)."""
        device = device or pick_device()
        if self.parse_params is not None:
            return self.parse_params(raw, device)
        return parse_fields(self.fields_for(device), raw)

    def settings(self, params: Any) -> dict[str, object]:
        """``params`` as plain values to record with the run (an image by its size)."""
        values = params if isinstance(params, Mapping) else dataclasses.asdict(params)
        return {name: _recordable(value) for name, value in values.items()}

    def inputs(self, params: Any) -> dict[str, object]:
        """The values :meth:`settings` records only by their size, for the worker whole."""
        values = params if isinstance(params, Mapping) else dataclasses.asdict(params)
        return {name: value for name, value in values.items() if isinstance(value, np.ndarray)}


def _recordable(value: object) -> object:
    if isinstance(value, np.ndarray):
        height, width = value.shape[:2]
        return f"image {width} × {height}"
    return value
