"""A worker's device figures: none from the CPU; CUDA memory (NVML utilisation) if present."""

from __future__ import annotations

import pytest

from core.worker.gpu import NONE, device_figures


def test_the_cpu_reports_no_device_figures():
    assert device_figures("cpu") is NONE
    assert device_figures("mps") is NONE


def test_a_cuda_device_reports_memory_or_nothing_never_an_error():
    torch = pytest.importorskip("torch")
    figures = device_figures("cuda:0")
    if not torch.cuda.is_available():
        assert figures is NONE, "no driver here: nothing to report, and no exception"
        return
    assert figures.memory_total is not None and figures.memory_total > 0
    assert 0 <= figures.memory_used <= figures.memory_total
    assert figures.utilization is None or 0 <= figures.utilization <= 100
