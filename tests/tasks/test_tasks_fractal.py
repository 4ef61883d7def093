"""Fractal renderer: right image format, points of the set dark, escaping points coloured."""

import numpy as np
import pytest
import torch

from core.tasks import fractal
from core.tasks.params import TaskParamError


def plane(params: fractal.FractalParams) -> np.ndarray:
    """The complex coordinate of every pixel, as the renderer lays them out."""
    spacing = params.pixel_spacing
    x = params.center_x + (np.arange(params.width) - (params.width - 1) / 2) * spacing
    y = params.center_y - (np.arange(params.height) - (params.height - 1) / 2) * spacing
    return x[None, :] + 1j * y[:, None]


def is_black(image: np.ndarray) -> np.ndarray:
    return (image == 0).all(axis=2)


def test_smallest_image_is_rgb_uint8(cpu, progress_log):
    params = fractal.parse({"width": 64, "height": 64, "max_iter": 16}, cpu)
    result = fractal.render_fractal(params, progress_log, cpu)
    assert result.image.shape == (64, 64, 3)
    assert result.image.dtype == np.uint8
    assert progress_log.fractions[-1] == 1.0


def test_mandelbrot_points_inside_are_dark_and_far_points_are_not(cpu, progress_log):
    params = fractal.parse({"width": 240, "height": 160, "max_iter": 200}, cpu)
    result = fractal.render_fractal(params, progress_log, cpu)
    c = plane(params)
    black = is_black(result.image)

    assert black[abs(c) < 0.2].all()  # the main cardioid contains this disc
    assert black[abs(c + 1) < 0.2].all()  # the period-2 bulb
    assert not black[abs(c) > 2.05].any()  # beyond radius 2 everything escapes
    assert result.inside_fraction == pytest.approx(black.mean())


def test_julia_set_of_zero_is_the_unit_disc(cpu, progress_log):
    raw = {
        "kind": "julia",
        "julia_re": 0,
        "julia_im": 0,
        "center_x": 0,
        "zoom": 1,
        "width": 160,
        "height": 160,
        "max_iter": 64,
    }
    params = fractal.parse(raw, cpu)
    result = fractal.render_fractal(params, progress_log, cpu)
    z = plane(params)
    black = is_black(result.image)

    assert black[abs(z) < 0.95].all()
    assert not black[abs(z) > 1.05].any()


def test_progress_comes_once_per_tile(cpu, progress_log):
    params = fractal.parse({"width": 256, "height": 64, "max_iter": 1024}, cpu)
    result = fractal.render_fractal(params, progress_log, cpu)
    assert result.tiles > 1
    assert progress_log.fractions == pytest.approx(
        [(i + 1) / result.tiles for i in range(result.tiles)]
    )


def test_default_parameters_run_on_cpu(cpu, progress_log):
    result = fractal.render_fractal(fractal.parse({}, cpu), progress_log, cpu)
    assert result.image.shape == (600, 800, 3)
    assert 0.05 < result.inside_fraction < 0.5
    assert result.precision == "float32"


def test_deep_zoom_switches_to_float64(cpu, progress_log):
    raw = {
        "center_x": -0.743643887,
        "center_y": 0.131825904,
        "zoom": 1e5,
        "width": 64,
        "height": 64,
        "max_iter": 256,
    }
    result = fractal.render_fractal(fractal.parse(raw, cpu), progress_log, cpu)
    assert result.precision == "float64"
    assert len(np.unique(result.image.reshape(-1, 3), axis=0)) > 100  # detail, not blocks


def test_deep_zoom_is_refused_on_mps_which_lacks_float64():
    with pytest.raises(TaskParamError, match="^Zoom must be at most 4167 .* MPS"):
        fractal.parse({"zoom": 1e5}, torch.device("mps"))


def test_cuda_render_matches_cpu(cpu, cuda, progress_log):
    params = fractal.parse({"width": 320, "height": 240, "max_iter": 256}, cpu)
    on_cpu = fractal.render_fractal(params, progress_log, cpu)
    on_cuda = fractal.render_fractal(params, progress_log, cuda)
    assert on_cuda.device_name.endswith("(CUDA)")
    assert (is_black(on_cpu.image) == is_black(on_cuda.image)).mean() > 0.99
