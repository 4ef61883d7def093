"""Pattern from a prompt: a text in, a picture out, made by a small random network.

The prompt seeds everything: its SHA-256 picks the weights of a little
coordinate network (a CPPN: each pixel's x, y and distance from the centre go
in, a colour comes out) and its palette, so the same prompt gives the same
picture on any device, and a one-letter change gives another. The style picks
the features and activations the network is built from. The picture is made
in bands of rows, with progress (and so a chance to cancel) after each band.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping

import numpy as np
import torch

from core.tasks.device import release_cached_memory
from core.tasks.params import FieldSpec
from core.tasks.progress import Progress
from core.tasks.result import Image, Metric, TaskResult
from core.tasks.task import TaskSpec

STYLES = ("flow", "marble", "rings")
BANDS = 16
"""Progress steps per picture: one band of rows each."""
WIDTH = 48
"""Hidden units per layer: enough for rich shapes, cheap on a CPU."""
FEATURE_SCALE = 2.5
"""How many "waves" fit across the picture: the coordinates span [-1, 1] before it."""

FIELDS = (
    FieldSpec.text(
        "prompt",
        "Prompt",
        "a quiet harbour at dawn",
        max_length=120,
        help="Any words: the same words always give the same picture.",
    ),
    FieldSpec.choice(
        "style",
        "Style",
        STYLES,
        "flow",
        help="Flow: smooth swirls. Marble: veined bands. Rings: ripples around the centre.",
    ),
    FieldSpec.integer(
        "size",
        "Size (pixels)",
        low=64,
        high=2048,
        default=384,
        step=64,
        help="Width and height of the square picture.",
        cpu_max=768,
        cpu_note="On the CPU at most 768, so that a picture takes seconds, not minutes.",
    ),
    FieldSpec.integer(
        "detail", "Detail", 1, 8, 4, help="Layers of the network: more layers, finer shapes."
    ),
    FieldSpec.switch(
        "soft", "Soft colours", True, help="Off: colours fall into a few flat bands, like a print."
    ),
)


def prompt_seed(prompt: str) -> int:
    """A 63-bit seed from the prompt's SHA-256: stable across runs, machines and Pythons."""
    return int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:8], "big") >> 1


def render_pattern(params: Mapping, progress: Progress, device: torch.device) -> np.ndarray:
    """The (size, size, 3) uint8 picture for ``params``, made band by band on ``device``."""
    generator = torch.Generator().manual_seed(prompt_seed(params["prompt"]))
    size = params["size"]
    in_features = 4 if params["style"] == "rings" else 3
    # Weights are drawn on the CPU from the prompt's generator, then moved: the same
    # prompt gives the same network, and so the same picture, on every device.
    widths = [in_features, *[WIDTH] * params["detail"], 3]
    layers = [
        (torch.randn(fan_in, fan_out, generator=generator) * (1.6 / math.sqrt(fan_in))).to(device)
        for fan_in, fan_out in zip(widths[:-1], widths[1:], strict=True)
    ]
    palette = torch.rand(3, 3, generator=generator).to(device)
    picture = np.empty((size, size, 3), dtype=np.uint8)
    rows_per_band = math.ceil(size / BANDS)
    # Device tensors are bound in this frame only until ``finally``: a cancelled run's
    # traceback keeps the frame, and with it anything still bound here, alive.
    coordinates = torch.linspace(-1.0, 1.0, size, device=device)
    try:
        for band, top in enumerate(range(0, size, rows_per_band), start=1):
            bottom = min(top + rows_per_band, size)
            picture[top:bottom] = _band(coordinates, top, bottom, layers, palette, params)
            progress(bottom / size, f"Band {band}: rows {top + 1}-{bottom} of {size}")
    finally:
        del layers, palette, coordinates
        release_cached_memory(device)
    return picture


def _band(
    coordinates: torch.Tensor,
    top: int,
    bottom: int,
    layers: list[torch.Tensor],
    palette: torch.Tensor,
    params: Mapping,
) -> np.ndarray:
    """Rows ``top:bottom`` of the picture, as host data (no device tensor outlives it)."""
    y, x = torch.meshgrid(coordinates[top:bottom], coordinates, indexing="ij")
    features = _features(x.reshape(-1), y.reshape(-1), params["style"])
    rgb = _colour(_network(features, layers, params["style"]), palette, params["soft"])
    return rgb.reshape(bottom - top, coordinates.numel(), 3).cpu().numpy()


def _features(x: torch.Tensor, y: torch.Tensor, style: str) -> torch.Tensor:
    radius = torch.sqrt(x * x + y * y)
    columns = [x, y, radius]
    if style == "rings":
        columns.append(torch.sin(9.0 * radius))
    return torch.stack(columns, dim=1)


def _network(features: torch.Tensor, layers: list[torch.Tensor], style: str) -> torch.Tensor:
    values = features * FEATURE_SCALE
    for depth, weights in enumerate(layers[:-1]):
        values = values @ weights
        wavy = style == "marble" or (style == "flow" and depth == 0)
        values = torch.sin(values * 2.0) if wavy else torch.tanh(values)
    return torch.sigmoid(values @ layers[-1] * 2.0)


def _colour(mix: torch.Tensor, palette: torch.Tensor, soft: bool) -> torch.Tensor:
    """Blend the palette's three colours by the network's output; quantise unless soft."""
    if not soft:
        mix = torch.round(mix * 3.0) / 3.0
    colour = (mix / mix.sum(dim=1, keepdim=True).clamp_min(1e-6)) @ palette
    colour = colour * (0.35 + 0.65 * mix.max(dim=1, keepdim=True).values)
    return (colour.clamp(0.0, 1.0) * 255).round().to(torch.uint8)


def _run(params: dict, progress: Progress, device: torch.device) -> TaskResult:
    picture = render_pattern(params, progress, device)
    slug = "-".join(params["prompt"].lower().split())[:40] or "pattern"
    return TaskResult(
        (
            Metric("Seed", f"{prompt_seed(params['prompt']):x}"[:12], help="From the prompt."),
            Metric("Pixels", f"{params['size']} × {params['size']}"),
            Image(
                picture,
                caption=f"“{params['prompt']}”, {params['style']}",
                filename=f"{slug}.png",
            ),
        )
    )


TASK = TaskSpec(
    key="pattern",
    title="Pattern from a prompt",
    description=(
        "Turns a few words into a picture: the prompt seeds a small network that "
        "paints a pattern in the chosen style, band by band on the device."
    ),
    group="B",
    fields=FIELDS,
    fn=_run,
    icon=":material/palette:",
    quick_settings={"prompt": "test pattern", "size": 128, "detail": 2},
)
