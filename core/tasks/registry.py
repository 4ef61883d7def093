"""The catalogue of tasks the UI offers: what each is called, where it runs, how to fill it in.

Pages read everything they need from here (titles, concurrency groups, form fields with
their bounds) so adding or changing a task touches its module and this table only.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from core.tasks import classifier, fractal, matmul
from core.tasks.params import FieldSpec, FieldValue
from core.tasks.progress import Progress


class ParseFn(Protocol):
    def __call__(self, raw: Mapping[str, object], device: torch.device | None = None) -> Any: ...


class TaskFn(Protocol):
    def __call__(self, params: Any, progress: Progress, device: torch.device) -> Any: ...


@dataclass(frozen=True)
class TaskSpec:
    """One task as the UI sees it.

    ``parse`` turns raw form values into the params ``fn`` takes, checking them against
    ``fields`` (the same objects the form is built from) and against the device.
    """

    key: str
    title: str
    group: str
    """Name of the concurrency group whose slots this task's runs take."""
    fn: TaskFn
    parse: ParseFn
    fields: tuple[FieldSpec, ...]
    description: str

    @property
    def defaults(self) -> dict[str, FieldValue]:
        return {field.name: field.default for field in self.fields}


TASKS: dict[str, TaskSpec] = {
    spec.key: spec
    for spec in (
        TaskSpec(
            key="matmul",
            title="Matrix-multiply benchmark",
            group="A",
            fn=matmul.run_matmul,
            parse=matmul.parse,
            fields=matmul.FIELDS,
            description=(
                "Times dense n x n matrix products and reports the FLOP/s the device "
                "sustains, best and mean over the repeats."
            ),
        ),
        TaskSpec(
            key="fractal",
            title="Fractal renderer",
            group="B",
            fn=fractal.render_fractal,
            parse=fractal.parse,
            fields=fractal.FIELDS,
            description=(
                "Renders the Mandelbrot set or a Julia set with smooth colouring, "
                "tile by tile on the device."
            ),
        ),
        TaskSpec(
            key="classifier",
            title="Train a small classifier",
            group="A",
            fn=classifier.train_classifier,
            parse=classifier.parse,
            fields=classifier.FIELDS,
            description=(
                "Trains a small neural network on a synthetic 2-D data set and shows "
                "its loss curve and decision boundary."
            ),
        ),
    )
}


def get(key: str) -> TaskSpec:
    """The task called ``key``; KeyError names the known keys if there is none."""
    try:
        return TASKS[key]
    except KeyError:
        raise KeyError(f"No task {key!r}; known tasks: {', '.join(TASKS)}.") from None
