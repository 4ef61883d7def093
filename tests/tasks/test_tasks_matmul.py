"""Matrix-multiply benchmark: real products, honest timings, refusals that explain."""

import pytest
import torch

from core.tasks import matmul
from core.tasks.device import memory_budget_bytes
from core.tasks.params import TaskParamError


def test_small_float32_run_gives_timings_and_a_correct_product(cpu, progress_log):
    params = matmul.parse({"n": 64, "repeats": 3}, cpu)
    result = matmul.run_matmul(params, progress_log, cpu)

    assert len(result.seconds_per_product) == 3
    assert all(seconds > 0 for seconds in result.seconds_per_product)
    assert result.best_flops >= result.mean_flops > 0
    assert result.best_flops == pytest.approx(2 * 64**3 / min(result.seconds_per_product))
    assert result.products_per_repeat >= 1
    assert result.relative_error < 1e-5
    assert result.device_name in result.summary()
    assert "FLOP/s best" in result.summary()


def test_bfloat16_product_is_correct_to_bfloat16_precision(cpu, progress_log):
    result = matmul.run_matmul(
        matmul.parse({"n": 128, "dtype": "bfloat16", "repeats": 1}, cpu), progress_log, cpu
    )
    assert 0 < result.relative_error < 1e-2
    assert result.dtype == "bfloat16"


def test_progress_comes_after_the_warm_up_and_each_repeat(cpu, progress_log):
    matmul.run_matmul(matmul.parse({"n": 64, "repeats": 4}, cpu), progress_log, cpu)

    assert progress_log.fractions == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    assert progress_log.calls[-1][1].startswith("Repeat 4/4: ")


def test_default_parameters_run_on_cpu(cpu, progress_log):
    result = matmul.run_matmul(matmul.parse({}, cpu), progress_log, cpu)
    assert result.n == 1536
    assert result.relative_error < 1e-5


def test_float16_is_not_offered_on_cpu_and_refused_there(cpu):
    (dtype,) = [field for field in matmul.TASK.fields_for(cpu) if field.name == "dtype"]
    assert dtype.choices == ("float32", "bfloat16")
    assert "Float16 needs a GPU" in dtype.help
    only_on_gpu = "^Data type can be float16 only on a GPU; on this device choose float32 or"
    with pytest.raises(TaskParamError, match=only_on_gpu):
        matmul.parse({"dtype": "float16"}, cpu)


def test_too_big_for_device_memory_is_refused_with_need_and_availability(cpu, monkeypatch):
    monkeypatch.setattr(matmul, "memory_budget_bytes", lambda device: 10 * 1024**2)
    with pytest.raises(TaskParamError) as refused:
        matmul.parse({"n": 2048}, cpu)
    assert str(refused.value) == (
        "A 2048 x 2048 float32 benchmark needs 48.0 MiB of device memory "
        "but only 10.0 MiB is available."
    )


def test_largest_size_fits_the_cpu_memory_budget(cpu):
    largest = matmul.MatmulParams(n=8192, dtype="float32", repeats=1)
    assert largest.bytes_needed <= memory_budget_bytes(cpu)


def test_sizes_too_slow_to_cancel_promptly_are_refused_on_cpu(cpu):
    assert matmul.parse({"n": matmul.CPU_MAX_N}, cpu).n == matmul.CPU_MAX_N
    (size,) = [field for field in matmul.TASK.fields_for(cpu) if field.name == "n"]
    assert size.max == 2048 and "On the CPU at most 2048" in size.help
    with pytest.raises(
        TaskParamError, match="^Matrix size must be a whole number between 64 and 2048"
    ):
        matmul.parse({"n": matmul.CPU_MAX_N + 64}, cpu)


def test_float16_runs_on_cuda_and_frees_its_memory(cuda, progress_log):
    before = torch.cuda.memory_allocated(cuda)
    result = matmul.run_matmul(
        matmul.parse({"n": 1024, "dtype": "float16"}, cuda), progress_log, cuda
    )
    assert result.relative_error < 1e-2
    assert result.device_name.endswith("(CUDA)")
    assert torch.cuda.memory_allocated(cuda) == before
