"""Train a small MLP classifier on a synthetic 2-D data set and map its decision boundary.

Data and initial weights come from a generator seeded by the ``seed`` input and are
made on the CPU, then moved to the device, so a seed names one run: the same on every
CPU run, and the same starting point on any device. Training is full-batch Adam,
which has no batch-order randomness either.
"""

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.colors import qualitative
from torch import nn
from torch.nn import functional

from core.tasks.datasets import DATASETS, class_count, make_dataset
from core.tasks.device import describe, release_cached_memory
from core.tasks.params import FieldSpec, TaskParamError, parse_fields
from core.tasks.progress import Progress
from core.tasks.result import Figure, Metric, Row, TaskResult
from core.tasks.task import TaskSpec

FIELDS = (
    FieldSpec.choice("dataset", "Data set", DATASETS, "spirals"),
    FieldSpec.integer(
        "arms", "Spiral arms", 2, 6, 3, help="Number of spiral arms, one class each (spirals only)."
    ),
    FieldSpec.integer(
        "samples",
        "Samples",
        low=100,
        high=20000,
        default=1500,
        step=100,
        help="Points generated; a fifth are held out to measure test accuracy.",
    ),
    FieldSpec.integer("hidden", "Hidden width", 4, 512, 64, step=4),
    FieldSpec.integer("layers", "Hidden layers", 1, 6, 3),
    FieldSpec.integer("epochs", "Epochs", 10, 5000, 400, step=10),
    FieldSpec.number("learning_rate", "Learning rate", 0.0001, 1.0, 0.01, step=0.001),
    FieldSpec.number(
        "noise",
        "Noise",
        low=0.0,
        high=0.5,
        default=0.05,
        step=0.01,
        help="Standard deviation of the jitter added to every point; the data spans about 2.",
    ),
    FieldSpec.integer("seed", "Seed", 0, 2**31 - 1, 0),
)

TEST_FRACTION = 0.2
GRID_SIZE = 120
"""Points per side of the decision-boundary grid."""
GRID_MARGIN = 0.1
"""Share of the data's extent added around it on every side of the grid."""
REPORT_INTERVAL_S = 0.1
"""Epochs are often a millisecond; progress is reported at most this often (and at the
first and last epoch) so the UI is not flooded and the device is not synchronised
every epoch for a loss value nobody sees."""
CPU_MAX_EPOCH_FLOP = 2e10
"""Most arithmetic one training epoch may take on CPU. A run can stop only between
epochs; at the ~100 GFLOP/s of a small host this keeps an epoch to about 0.2 s, where
the largest network the form allows would take over a second."""


@dataclass(frozen=True)
class ClassifierParams:
    dataset: str
    arms: int
    samples: int
    hidden: int
    layers: int
    epochs: int
    learning_rate: float
    noise: float
    seed: int

    @property
    def classes(self) -> int:
        return class_count(self.dataset, self.arms)

    @property
    def weights(self) -> int:
        """Multiply-adds per point in one forward pass (biases aside)."""
        widths = (2, *[self.hidden] * self.layers, self.classes)
        return sum(fan_in * fan_out for fan_in, fan_out in pairwise(widths))

    @property
    def epoch_flop(self) -> int:
        """Upper bound on one epoch's arithmetic: 2 FLOP per weight forward, 4 backward."""
        return 6 * self.samples * self.weights


@dataclass(frozen=True)
class ClassifierResult:
    loss_curve: tuple[float, ...]
    """Training cross-entropy, one value per epoch."""
    train_accuracy: float
    test_accuracy: float
    classes: int
    points: np.ndarray
    """(N, 2) float32: every generated point, training and held-out."""
    labels: np.ndarray
    """(N,) int64 class of each point."""
    is_test: np.ndarray
    """(N,) bool: True for held-out points."""
    grid_x: np.ndarray
    """(G,) float32 x coordinates of the grid columns."""
    grid_y: np.ndarray
    """(G,) float32 y coordinates of the grid rows."""
    grid_class: np.ndarray
    """(G, G) int64 predicted class, indexed [row (y), column (x)] as heatmaps expect."""
    grid_confidence: np.ndarray
    """(G, G) float32 probability of the predicted class."""
    device_name: str
    elapsed_s: float


def parse(raw: Mapping[str, object], device: torch.device) -> ClassifierParams:
    """Validate ``raw`` for a run on ``device``.

    On CPU an epoch may cost at most CPU_MAX_EPOCH_FLOP, so that Cancel stays prompt;
    the refusal names the most samples the chosen network may train on.
    """
    params = ClassifierParams(**parse_fields(FIELDS, raw))
    if device.type == "cpu" and params.epoch_flop > CPU_MAX_EPOCH_FLOP:
        most = int(CPU_MAX_EPOCH_FLOP // (6 * params.weights))
        raise TaskParamError(
            f"On the CPU, {params.layers} hidden layers of width {params.hidden} can train on "
            f"at most {most} samples, so that a run stops promptly when cancelled; "
            "use fewer samples or a smaller network."
        )
    return params


def train_classifier(
    params: ClassifierParams, progress: Progress, device: torch.device
) -> ClassifierResult:
    """Train on ``device`` with progress every REPORT_INTERVAL_S, then evaluate."""
    started = time.perf_counter()
    progress(0.0, f"Preparing data and model on {describe(device)}")
    generator = torch.Generator().manual_seed(params.seed)
    points, labels = make_dataset(
        params.dataset, params.samples, params.arms, params.noise, generator
    )
    train_count = points.shape[0] - math.ceil(points.shape[0] * TEST_FRACTION)
    is_test = torch.arange(points.shape[0]) >= train_count
    # Device state lives only in this frame and is dropped in ``finally``: a cancelled
    # run's traceback keeps this frame, and with it anything still bound here, alive.
    model = optimizer = x = y = losses = loss = None
    try:
        model = _build_mlp(params, generator).to(device)
        x, y = points.to(device), labels.to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=params.learning_rate)
        losses = torch.empty(params.epochs, device=device)
        last_report = -math.inf
        for epoch in range(params.epochs):
            optimizer.zero_grad(set_to_none=True)
            loss = functional.cross_entropy(model(x[:train_count]), y[:train_count])
            loss.backward()
            optimizer.step()
            losses[epoch] = loss.detach()
            now = time.perf_counter()
            if now - last_report >= REPORT_INTERVAL_S or epoch + 1 == params.epochs:
                last_report = now
                progress(
                    (epoch + 1) / params.epochs,
                    f"Epoch {epoch + 1}/{params.epochs}: loss {loss.item():.4f}",
                )
        loss_curve = tuple(losses.tolist())
        with torch.inference_mode():
            correct = (model(x).argmax(dim=1) == y).cpu()
            grid_x, grid_y, grid_class, grid_confidence = _decision_grid(model, points, device)
    finally:
        model = optimizer = x = y = losses = loss = None
        release_cached_memory(device)
    return ClassifierResult(
        loss_curve=loss_curve,
        train_accuracy=float(correct[~is_test].float().mean()),
        test_accuracy=float(correct[is_test].float().mean()),
        classes=params.classes,
        points=points.numpy(),
        labels=labels.numpy(),
        is_test=is_test.numpy(),
        grid_x=grid_x,
        grid_y=grid_y,
        grid_class=grid_class,
        grid_confidence=grid_confidence,
        device_name=describe(device),
        elapsed_s=time.perf_counter() - started,
    )


def _build_mlp(params: ClassifierParams, generator: torch.Generator) -> nn.Sequential:
    """ReLU MLP on the CPU with weights drawn from ``generator``, not the global RNG.

    The layers are created on the meta device and initialised explicitly, so runs in
    other threads neither disturb nor are disturbed by this run's random numbers.
    """
    widths = [2] + [params.hidden] * params.layers
    modules: list[nn.Module] = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:], strict=True):
        modules += [nn.Linear(fan_in, fan_out, device="meta"), nn.ReLU()]
    modules.append(nn.Linear(params.hidden, params.classes, device="meta"))
    model = nn.Sequential(*modules).to_empty(device="cpu")
    for layer in model:
        if isinstance(layer, nn.Linear):
            # nn.Linear's own initialisation, with the generator passed through.
            nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
            bound = 1 / math.sqrt(layer.in_features)
            nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
    return model


def _decision_grid(
    model: nn.Module, points: torch.Tensor, device: torch.device
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Predicted class and its probability on a GRID_SIZE² grid around the data."""
    low, high = points.min(dim=0).values, points.max(dim=0).values
    margin = (high - low) * GRID_MARGIN
    low, high = low - margin, high + margin
    grid_x = torch.linspace(float(low[0]), float(high[0]), GRID_SIZE)
    grid_y = torch.linspace(float(low[1]), float(high[1]), GRID_SIZE)
    mesh_y, mesh_x = torch.meshgrid(grid_y, grid_x, indexing="ij")
    queries = torch.stack((mesh_x.reshape(-1), mesh_y.reshape(-1)), dim=1).to(device)
    confidence, predicted = model(queries).softmax(dim=1).max(dim=1)
    shape = (GRID_SIZE, GRID_SIZE)
    return (
        grid_x.numpy(),
        grid_y.numpy(),
        predicted.reshape(shape).cpu().numpy(),
        confidence.reshape(shape).cpu().numpy(),
    )


CLASS_COLOURS = qualitative.Plotly
"""Enough distinct colours for the most classes the form offers (six spiral arms)."""

_CHART_HEIGHT = 380
_MARGIN = {"l": 10, "r": 10, "t": 30, "b": 10}


def loss_chart(result: ClassifierResult) -> go.Figure:
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
        height=_CHART_HEIGHT,
        margin=_MARGIN,
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


def boundary_chart(result: ClassifierResult) -> go.Figure:
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
        height=_CHART_HEIGHT,
        margin=_MARGIN,
        showlegend=False,
        xaxis={"range": [float(result.grid_x[0]), float(result.grid_x[-1])]},
        yaxis={
            "range": [float(result.grid_y[0]), float(result.grid_y[-1])],
            "scaleanchor": "x",
        },
    )
    return figure


BOUNDARY_NOTE = (
    "Shading: the class the model predicts there. Dots: training points; "
    "crosses: held-out points, which the model never trained on."
)


def _run(params: ClassifierParams, progress: Progress, device: torch.device) -> TaskResult:
    result = train_classifier(params, progress, device)
    return TaskResult(
        (
            Metric("Training accuracy", f"{result.train_accuracy:.1%}"),
            Metric("Held-out accuracy", f"{result.test_accuracy:.1%}"),
            Metric("Final loss", f"{result.loss_curve[-1]:.4f}"),
            Row((Figure(loss_chart(result)), Figure(boundary_chart(result), BOUNDARY_NOTE))),
        )
    )


TASK = TaskSpec(
    key="classifier",
    title="Train a small classifier",
    description=(
        "Trains a small neural network on a synthetic 2-D data set and shows "
        "its loss curve and decision boundary."
    ),
    group="A",
    fields=FIELDS,
    fn=_run,
    parse_params=parse,
    icon=":material/scatter_plot:",
    quick_settings={"samples": 200, "hidden": 8, "layers": 1, "epochs": 20},
)
