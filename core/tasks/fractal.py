"""Fractal renderer: Mandelbrot and Julia sets with smooth colouring, tile by tile on the device.

The image is computed in horizontal bands ("tiles") sized to a fixed amount of work, so
progress, and with it cancellation, comes at a steady pace whatever the image size and
iteration count. Within a tile, points that have escaped are dropped every few
iterations, so the cost follows the number of points still iterating, not the tile area.
"""

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from core.tasks.device import describe, release_cached_memory
from core.tasks.params import FieldSpec, TaskParamError, parse_fields
from core.tasks.progress import Progress
from core.tasks.result import Image, TaskResult
from core.tasks.task import TaskSpec

KINDS = ("mandelbrot", "julia")

FIELDS = (
    FieldSpec.choice(
        "kind",
        "Fractal",
        choices=KINDS,
        default="mandelbrot",
        help="Mandelbrot: one pixel per constant c. Julia: one constant c for the whole image.",
    ),
    FieldSpec.number("center_x", "Centre x", -3.0, 3.0, -0.6, step=0.01),
    FieldSpec.number("center_y", "Centre y", -3.0, 3.0, 0.0, step=0.01),
    FieldSpec.number(
        "zoom",
        "Zoom",
        low=0.1,
        high=1e6,
        default=1.0,
        step=0.5,
        help="At zoom 1 the shorter side of the image spans 2.5 units.",
    ),
    FieldSpec.integer(
        "max_iter",
        "Maximum iterations",
        low=16,
        high=5000,
        default=256,
        step=16,
        help="Points still bounded after this many iterations are black; deep zooms need more.",
    ),
    FieldSpec.integer("width", "Width (pixels)", 64, 3840, 800, step=16),
    FieldSpec.integer("height", "Height (pixels)", 64, 2160, 600, step=16),
    FieldSpec.number("julia_re", "Julia constant (real part)", -2.0, 2.0, -0.8, step=0.01),
    FieldSpec.number("julia_im", "Julia constant (imaginary part)", -2.0, 2.0, 0.156, step=0.01),
)

VIEW_SPAN = 2.5
"""Units spanned by the shorter side of the image at zoom 1."""

FLOAT32_MIN_PIXEL_SPACING = 1e-6
"""Finer pixel spacing than this is computed in float64: float32 has ~7 significant
digits, so neighbouring pixels would collapse onto the same coordinate."""

ESCAPE_RADIUS_SQUARED = 256.0**2
"""A large escape radius makes the smooth iteration count nearly exact."""

COMPACT_EVERY = 16
"""Iterations between dropping escaped points; each drop synchronises with the device."""

CPU_TILE_WORK = 2**22
"""Point-iterations per tile on CPU: a tile of points that never escape takes ~0.1-0.2 s."""

ACCELERATOR_TILE_WORK = 2**30
"""Point-iterations per tile elsewhere: GPUs are bound by kernel launches, not arithmetic,
so their tiles must be far larger to keep them busy."""

MAX_TILE_PIXELS = 2**21
"""Caps a tile's device memory (about a dozen values per pixel) at a few hundred MiB."""

PALETTE_PHASE = (0.0, 0.15, 0.35)
"""Per-channel phase of the cosine palette, in turns: a blue-gold cycle."""

PALETTE_CYCLES_PER_DOUBLING = 0.35
"""How fast colours cycle as the smooth escape count doubles."""


@dataclass(frozen=True)
class FractalParams:
    kind: str
    center_x: float
    center_y: float
    zoom: float
    max_iter: int
    width: int
    height: int
    julia_re: float
    julia_im: float

    @property
    def pixel_spacing(self) -> float:
        return VIEW_SPAN / (self.zoom * min(self.width, self.height))

    @property
    def needs_float64(self) -> bool:
        return self.pixel_spacing < FLOAT32_MIN_PIXEL_SPACING


@dataclass(frozen=True)
class FractalResult:
    image: np.ndarray
    """RGB, uint8, shape (height, width, 3); points inside the set are black."""
    kind: str
    max_iter: int
    inside_fraction: float
    """Share of pixels that never escaped within ``max_iter`` iterations."""
    tiles: int
    precision: str
    """Arithmetic used: float32, or float64 where the pixel spacing is too fine for it."""
    device_name: str
    elapsed_s: float


def parse(raw: Mapping[str, object], device: torch.device) -> FractalParams:
    """Validate ``raw`` for a run on ``device``.

    MPS has no float64, so zooms that need it are refused there with the deepest zoom
    the image size allows in float32.
    """
    params = FractalParams(**parse_fields(FIELDS, raw))
    if device.type == "mps" and params.needs_float64:
        deepest = VIEW_SPAN / (FLOAT32_MIN_PIXEL_SPACING * min(params.width, params.height))
        raise TaskParamError(
            f"Zoom must be at most {deepest:.0f} at this image size on MPS, "
            "which has no double precision."
        )
    return params


def render_fractal(
    params: FractalParams, progress: Progress, device: torch.device
) -> FractalResult:
    """Render the image tile by tile on ``device``; progress after each tile."""
    started = time.perf_counter()
    image = np.empty((params.height, params.width, 3), dtype=np.uint8)
    rows = _rows_per_tile(params, device)
    tops = range(0, params.height, rows)
    inside = 0
    try:
        for number, top in enumerate(tops, start=1):
            bottom = min(top + rows, params.height)
            image[top:bottom], tile_inside = _render_tile(params, top, bottom, device)
            inside += tile_inside
            progress(number / len(tops), f"Tile {number}/{len(tops)}: rows {top + 1}-{bottom}")
    finally:
        release_cached_memory(device)
    return FractalResult(
        image=image,
        kind=params.kind,
        max_iter=params.max_iter,
        inside_fraction=inside / (params.width * params.height),
        tiles=len(tops),
        precision="float64" if params.needs_float64 else "float32",
        device_name=describe(device),
        elapsed_s=time.perf_counter() - started,
    )


def _rows_per_tile(params: FractalParams, device: torch.device) -> int:
    work = CPU_TILE_WORK if device.type == "cpu" else ACCELERATOR_TILE_WORK
    rows = min(work // (params.width * params.max_iter), MAX_TILE_PIXELS // params.width)
    return max(1, min(params.height, rows))


def _render_tile(
    params: FractalParams, top: int, bottom: int, device: torch.device
) -> tuple[np.ndarray, int]:
    """RGB rows ``top:bottom`` of the image, and how many of their pixels are inside.

    Returns host data only, so no device tensor outlives this call.
    """
    dtype = torch.float64 if params.needs_float64 else torch.float32
    spacing = params.pixel_spacing
    columns = torch.arange(params.width, device=device, dtype=dtype)
    rows = torch.arange(top, bottom, device=device, dtype=dtype)
    x = params.center_x + (columns - (params.width - 1) / 2) * spacing
    y = params.center_y - (rows - (params.height - 1) / 2) * spacing
    plane_re = x.expand(bottom - top, -1).reshape(-1)
    plane_im = y[:, None].expand(-1, params.width).reshape(-1)
    if params.kind == "mandelbrot":
        z_re, z_im = torch.zeros_like(plane_re), torch.zeros_like(plane_im)
        c_re, c_im = plane_re, plane_im
    else:
        z_re, z_im = plane_re, plane_im
        c_re = torch.full_like(plane_re, params.julia_re)
        c_im = torch.full_like(plane_im, params.julia_im)
    smooth = _smooth_escape_counts(z_re, z_im, c_re, c_im, params.max_iter)
    rgb = _colour(smooth).reshape(bottom - top, params.width, 3)
    return rgb.cpu().numpy(), int(smooth.isnan().sum())


def _smooth_escape_counts(
    z_re: torch.Tensor, z_im: torch.Tensor, c_re: torch.Tensor, c_im: torch.Tensor, max_iter: int
) -> torch.Tensor:
    """Iterate z ← z² + c per point; the smooth escape count, NaN where it never escaped.

    Points keep iterating for the rest of a COMPACT_EVERY chunk after they escape (they
    run off to inf/NaN, which is harmless because their escape was already recorded),
    and are then dropped, so each chunk costs one device synchronisation, not one per
    iteration.
    """
    smooth = torch.full_like(z_re, math.nan)
    lanes = torch.arange(z_re.numel(), device=z_re.device)
    for chunk_start in range(0, max_iter, COMPACT_EVERY):
        escaped_at = torch.full_like(z_re, -1.0)
        escaped_size = torch.zeros_like(z_re)
        for iteration in range(chunk_start, min(chunk_start + COMPACT_EVERY, max_iter)):
            re_squared, im_squared = z_re * z_re, z_im * z_im
            size = re_squared + im_squared
            newly = (size > ESCAPE_RADIUS_SQUARED) & (escaped_at < 0)
            escaped_at = torch.where(newly, iteration, escaped_at)
            escaped_size = torch.where(newly, size, escaped_size)
            z_im = 2 * z_re * z_im + c_im
            z_re = re_squared - im_squared + c_re
        done = escaped_at >= 0
        # n + 1 - log2(log2 |z|), with log2 |z| = log2(|z|²) / 2.
        smooth[lanes[done]] = escaped_at[done] + 1 - torch.log2(torch.log2(escaped_size[done]) / 2)
        alive = ~done
        lanes, z_re, z_im, c_re, c_im = (t[alive] for t in (lanes, z_re, z_im, c_re, c_im))
        if lanes.numel() == 0:
            break
    return smooth


def _colour(smooth: torch.Tensor) -> torch.Tensor:
    """Map smooth escape counts to RGB uint8 with a cosine palette; NaN (inside) is black."""
    phase = torch.tensor(PALETTE_PHASE, device=smooth.device, dtype=smooth.dtype)
    turns = PALETTE_CYCLES_PER_DOUBLING * torch.log2(smooth.clamp_min(0) + 1)
    rgb = 0.5 + 0.5 * torch.cos(2 * math.pi * (turns[:, None] + phase))
    rgb = torch.where(smooth.isnan()[:, None], 0.0, rgb)
    return (rgb * 255).round().to(torch.uint8)


def _run(params: FractalParams, progress: Progress, device: torch.device) -> TaskResult:
    result = render_fractal(params, progress, device)
    height, width = result.image.shape[:2]
    caption = (
        f"{result.kind.capitalize()} set, {width} × {height} pixels, "
        f"{result.max_iter} iterations · {result.inside_fraction:.1%} of pixels inside · "
        f"{result.precision} · {result.tiles} tile(s)"
    )
    return TaskResult((Image(result.image, caption, filename=f"{result.kind}.png"),))


TASK = TaskSpec(
    key="fractal",
    title="Fractal renderer",
    description=(
        "Renders the Mandelbrot set or a Julia set with smooth colouring, "
        "tile by tile on the device."
    ),
    group="B",
    fields=FIELDS,
    fn=_run,
    parse_params=parse,
    icon=":material/blur_on:",
    quick_settings={"width": 256, "height": 64, "max_iter": 1024},
)
