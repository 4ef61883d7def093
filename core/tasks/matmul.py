"""Matrix-multiply benchmark: the FLOP/s a device sustains on dense n x n products.

Timings are wall-clock around synchronised batches of products, after a warm-up that
absorbs one-off costs (kernel selection, lazy library loading). A sample of the product
is checked against a float64 reference, so a fast but wrong result cannot pass unnoticed.
"""

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import torch

from core.tasks.device import describe, memory_budget_bytes, release_cached_memory, synchronize
from core.tasks.params import FieldSpec, TaskParamError, parse_fields
from core.tasks.progress import Progress
from core.tasks.result import Figure, Metric, TaskResult, Text
from core.tasks.task import TaskSpec
from core.tasks.units import format_bytes, format_flops

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}

CPU_MAX_N = 2048
"""Largest matrix size on CPU. A run can stop only between products, and the warm-up
step does two of them: at 2048 that step takes about 0.4 s on a small host, at 3072
about a second, so a larger size would make Cancel feel broken."""

FIELDS = (
    FieldSpec.integer(
        "n",
        "Matrix size",
        low=64,
        high=8192,
        default=1536,
        step=64,
        help="Rows and columns of each square matrix; one product costs 2 n³ FLOP.",
        cpu_max=CPU_MAX_N,
        cpu_note=f"On the CPU at most {CPU_MAX_N}, so that a run stops promptly when cancelled.",
    ),
    FieldSpec.choice(
        "dtype",
        "Data type",
        choices=tuple(DTYPES),
        default="float32",
        help="Element type of the matrices.",
        gpu_only=("float16",),
        cpu_note="Float16 needs a GPU: on the CPU it runs far slower than float32.",
    ),
    FieldSpec.integer(
        "repeats",
        "Repeats",
        low=1,
        high=100,
        default=10,
        help="Timed measurements after the warm-up; best and mean are taken over these.",
    ),
)

MIN_REPEAT_S = 0.02
"""Products too quick to time one by one are batched until a measurement lasts this long."""

MAX_PRODUCTS_PER_REPEAT = 1000

CHECK_SIZE = 16
"""Rows and columns of the product compared against a float64 reference."""


@dataclass(frozen=True)
class MatmulParams:
    n: int
    dtype: str
    repeats: int

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    @property
    def bytes_needed(self) -> int:
        """Device memory for the two operands and the output."""
        return 3 * self.n**2 * self.torch_dtype.itemsize

    @property
    def flop_per_product(self) -> int:
        return 2 * self.n**3


@dataclass(frozen=True)
class MatmulResult:
    n: int
    dtype: str
    products_per_repeat: int
    seconds_per_product: tuple[float, ...]
    """One entry per repeat: that repeat's time divided by ``products_per_repeat``."""
    best_flops: float
    mean_flops: float
    """FLOP/s at the mean time per product."""
    relative_error: float
    """Frobenius-norm error of a sampled block of the product relative to float64."""
    device_name: str
    elapsed_s: float

    def summary(self) -> str:
        """E.g. "41.2 TFLOP/s best, 39.8 TFLOP/s mean on NVIDIA H100 80GB HBM3 (CUDA)"."""
        best, mean = format_flops(self.best_flops), format_flops(self.mean_flops)
        return f"{best} best, {mean} mean on {self.device_name}"


def parse(raw: Mapping[str, object], device: torch.device) -> MatmulParams:
    """Validate ``raw`` for a run on ``device``, including its free memory.

    Float16 is offered on accelerators only (``gpu_only``) rather than silently run as
    float32 on the CPU (whose numbers would then be reported under the wrong name):
    most CPUs have no fast float16 matmul, it ran over a hundred times slower than
    float32 on the machine this was written on, and a large size would tie up the host
    for minutes.
    """
    params = MatmulParams(**parse_fields([spec.for_device(device) for spec in FIELDS], raw))
    budget = memory_budget_bytes(device)
    if params.bytes_needed > budget:
        raise TaskParamError(
            f"A {params.n} x {params.n} {params.dtype} benchmark needs "
            f"{format_bytes(params.bytes_needed)} of device memory "
            f"but only {format_bytes(budget)} is available."
        )
    return params


def run_matmul(params: MatmulParams, progress: Progress, device: torch.device) -> MatmulResult:
    """Time ``params.repeats`` measurements of ``a @ b`` on ``device``; progress per repeat."""
    started = time.perf_counter()
    progress(0.0, f"Allocating and warming up on {describe(device)}")
    # Tensors live only in this frame and are dropped in ``finally``: a cancelled run's
    # traceback keeps this frame, and with it any tensor still bound here, alive.
    a = b = c = None
    try:
        generator = torch.Generator(device=device).manual_seed(0)
        shape, dtype = (params.n, params.n), params.torch_dtype
        a = torch.randn(shape, generator=generator, device=device, dtype=dtype)
        b = torch.randn(shape, generator=generator, device=device, dtype=dtype)
        c = torch.empty_like(a)
        steps = params.repeats + 1  # the warm-up, then each repeat
        _time_products(a, b, c, 1, device)
        single_s = _time_products(a, b, c, 1, device)
        batch = _products_per_repeat(single_s)
        progress(1 / steps, f"Warmed up: one product takes {single_s * 1e3:.3g} ms")
        seconds: list[float] = []
        for repeat in range(params.repeats):
            seconds.append(_time_products(a, b, c, batch, device) / batch)
            rate = format_flops(params.flop_per_product / seconds[-1])
            progress((repeat + 2) / steps, f"Repeat {repeat + 1}/{params.repeats}: {rate}")
        error = _relative_error(a, b, c)
    finally:
        a = b = c = None
        release_cached_memory(device)
    return MatmulResult(
        n=params.n,
        dtype=params.dtype,
        products_per_repeat=batch,
        seconds_per_product=tuple(seconds),
        best_flops=params.flop_per_product / min(seconds),
        mean_flops=params.flop_per_product / (sum(seconds) / len(seconds)),
        relative_error=error,
        device_name=describe(device),
        elapsed_s=time.perf_counter() - started,
    )


def _time_products(
    a: torch.Tensor, b: torch.Tensor, c: torch.Tensor, count: int, device: torch.device
) -> float:
    """Seconds for ``count`` back-to-back products, measured from idle to idle device."""
    synchronize(device)
    start = time.perf_counter()
    for _ in range(count):
        torch.matmul(a, b, out=c)
    synchronize(device)
    return time.perf_counter() - start


def _products_per_repeat(single_s: float) -> int:
    """Enough products per measurement that timer resolution and launch overhead fade."""
    wanted = math.ceil(MIN_REPEAT_S / max(single_s, 1e-9))
    return max(1, min(MAX_PRODUCTS_PER_REPEAT, wanted))


def _relative_error(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> float:
    """Compare a spread-out CHECK_SIZE² block of ``c = a @ b`` with a float64 reference.

    Only CHECK_SIZE rows of ``a`` and columns of ``b`` leave the device, so the check
    costs O(n) memory and time whatever the matrix size.
    """
    n = a.shape[0]
    index = torch.linspace(0, n - 1, min(CHECK_SIZE, n), device=a.device).long()
    rows = a[index].cpu().double()
    columns = b[:, index].cpu().double()
    reference = rows @ columns
    sampled = c[index][:, index].cpu().double()
    return float(
        torch.linalg.vector_norm(sampled - reference) / torch.linalg.vector_norm(reference)
    )


def timings_chart(result: MatmulResult) -> go.Figure:
    """Time per product for each timed repeat, with the mean as a dashed line."""
    milliseconds = np.array(result.seconds_per_product) * 1e3
    repeats = np.arange(1, len(milliseconds) + 1)
    figure = go.Figure(
        go.Bar(
            x=repeats,
            y=milliseconds,
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
        height=380,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        showlegend=False,
    )
    return figure


def _run(params: MatmulParams, progress: Progress, device: torch.device) -> TaskResult:
    result = run_matmul(params, progress, device)
    return TaskResult(
        (
            Metric("Best", format_flops(result.best_flops)),
            Metric("Mean", format_flops(result.mean_flops)),
            Metric("Fastest product", f"{min(result.seconds_per_product) * 1e3:.3g} ms"),
            Figure(timings_chart(result)),
            Text(
                f"{result.products_per_repeat} product(s) per repeat · "
                f"error against float64: {result.relative_error:.1e}",
                style="note",
            ),
        )
    )


TASK = TaskSpec(
    key="matmul",
    title="Matrix-multiply benchmark",
    description=(
        "Times dense n x n matrix products and reports the FLOP/s the device "
        "sustains, best and mean over the repeats."
    ),
    group="A",
    fields=FIELDS,
    fn=_run,
    parse_params=parse,
    icon=":material/grid_on:",
    quick_settings={"n": 128, "repeats": 3},
)
