"""On a machine with a CUDA GPU, every task page runs its task on the GPU.

Skips elsewhere; ``TASKGATE_REQUIRE=gpu`` turns the skip into a failure on
machines that are meant to have one.
"""

from __future__ import annotations

import pytest
import torch

from tests.pages.helpers import TASK_PAGES, fill_form, open_page, press_run
from tests.support.apptest import page_text
from tests.support.optional import skip_unless_available

pytestmark = pytest.mark.gpu

GPU_SETTINGS = {
    "matmul": {"n": 4096, "dtype": "float16", "repeats": 10},
    "fractal": {"width": 1920, "height": 1080, "max_iter": 512},
    "classifier": {"samples": 20000, "hidden": 256, "layers": 4, "epochs": 200},
}
"""Settings the CPU refuses or would take long over, to show the GPU really does the work."""


@pytest.fixture
def cuda_available() -> None:
    skip_unless_available(
        "gpu", torch.cuda.is_available(), "run it on a machine with a CUDA GPU and torch for CUDA"
    )


@pytest.mark.parametrize("task", TASK_PAGES)
def test_each_task_page_runs_its_task_on_the_cuda_gpu(cuda_available, apptest_app, task):
    at = open_page(TASK_PAGES[task], timeout_s=120)
    assert "CUDA" in page_text(at), "the page should say it runs on the GPU"
    fill_form(at, task, GPU_SETTINGS[task])
    at = press_run(at)
    assert not at.exception, at.exception
    assert not at.error and not at.warning, page_text(at)
    timings = [caption.value for caption in at.caption if caption.value.startswith("Waited ")]
    assert len(timings) == 1 and "CUDA" in timings[0]
