"""Device choice, naming and memory budget."""

import torch

from core.tasks.device import (
    CPU_MEMORY_BUDGET_BYTES,
    describe,
    memory_budget_bytes,
    pick_device,
    release_cached_memory,
    synchronize,
)


def test_pick_device_prefers_cuda_then_mps_then_cpu():
    expected = (
        "cuda"
        if torch.cuda.is_available()
        else "mps"
        if torch.backends.mps.is_available()
        else "cpu"
    )
    assert pick_device().type == expected


def test_cpu_is_described_with_its_thread_count(cpu):
    assert describe(cpu) == f"CPU ({torch.get_num_threads()} threads)"


def test_cpu_budget_is_a_fixed_cap(cpu):
    assert memory_budget_bytes(cpu) == CPU_MEMORY_BUDGET_BYTES == 2 * 1024**3


def test_synchronize_and_release_are_harmless_on_cpu(cpu):
    synchronize(cpu)
    release_cached_memory(cpu)


def test_cuda_is_described_by_its_name(cuda):
    assert describe(cuda) == f"{torch.cuda.get_device_name(cuda)} (CUDA)"
    assert 0 < memory_budget_bytes(cuda) < torch.cuda.get_device_properties(cuda).total_memory
