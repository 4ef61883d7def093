"""Which torch device a task runs on, what to call it, and how to wait on and tidy it.

Tasks take the device as an argument; these helpers keep the CUDA / MPS / CPU
differences in one place so the task code reads the same on all three.
"""

import torch

CPU_MEMORY_BUDGET_BYTES = 2 * 1024**3
"""Fixed cap for CPU runs: the app shares the host with other users' runs."""

ACCELERATOR_MEMORY_FRACTION = 0.8
"""Share of an accelerator's currently free memory one task may plan to use, leaving
headroom for the allocator, the CUDA context and other runs starting at the same time."""


def pick_device() -> torch.device:
    """The fastest device present: CUDA, else Apple MPS, else CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def describe(device: torch.device) -> str:
    """A name to show beside results, e.g. "NVIDIA H100 80GB HBM3 (CUDA)" or "CPU (12 threads)"."""
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA)"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return f"CPU ({torch.get_num_threads()} threads)"


def synchronize(device: torch.device) -> None:
    """Wait until queued kernels finish, so wall-clock timings measure the work itself."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def memory_budget_bytes(device: torch.device) -> int:
    """How many bytes a task may plan to allocate on ``device`` right now."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free * ACCELERATOR_MEMORY_FRACTION)
    if device.type == "mps":
        free = torch.mps.recommended_max_memory() - torch.mps.driver_allocated_memory()
        return int(max(free, 0) * ACCELERATOR_MEMORY_FRACTION)
    return CPU_MEMORY_BUDGET_BYTES


def release_cached_memory(device: torch.device) -> None:
    """Hand the caching allocator's free blocks back, so other runs and processes can use them.

    Call after the task has dropped its last reference to its tensors.
    """
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps":
        torch.mps.empty_cache()
