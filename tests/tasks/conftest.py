"""Shared fixtures for the task tests: devices, progress recorders and cancellation."""

import traceback
from collections.abc import Callable

import pytest
import torch
from torch import nn

from core.tasks import registry


class Cancelled(BaseException):
    """What a UI raises from a progress callback to abandon a run."""


class ProgressLog:
    """A progress callback that records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, str]] = []

    def __call__(self, fraction: float, message: str) -> None:
        self.calls.append((fraction, message))

    @property
    def fractions(self) -> list[float]:
        return [fraction for fraction, _ in self.calls]


class CancelOnCall:
    """A progress callback that raises ``error`` on call number ``call``."""

    def __init__(self, call: int) -> None:
        self.call = call
        self.calls = 0
        self.error = Cancelled(f"cancelled on progress call {call}")

    def __call__(self, fraction: float, message: str) -> None:
        self.calls += 1
        if self.calls == self.call:
            raise self.error


@pytest.fixture
def cpu() -> torch.device:
    return torch.device("cpu")


@pytest.fixture
def cuda() -> torch.device:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device here")
    return torch.device("cuda")


@pytest.fixture
def progress_log() -> ProgressLog:
    return ProgressLog()


@pytest.fixture
def cancel_on_call() -> Callable[[int], CancelOnCall]:
    return CancelOnCall


@pytest.fixture
def small_params() -> dict[str, dict[str, object]]:
    """Per task: its declared quick settings (fast on the CPU, with several progress steps)."""
    return {key: dict(task.quick_settings) for key, task in registry.tasks().items()}


def device_state_in(error: BaseException) -> list[str]:
    """Models, optimisers and non-trivial tensors still bound in task frames of the traceback.

    A traceback keeps every frame it passes through alive, so anything listed here would
    stay in (device) memory for as long as the caller keeps the exception.
    """
    held = []
    for frame, _ in traceback.walk_tb(error.__traceback__):
        if "core/tasks" not in frame.f_code.co_filename.replace("\\", "/"):
            continue
        for name, value in frame.f_locals.items():
            heavy_tensor = isinstance(value, torch.Tensor) and value.numel() > 1000
            if heavy_tensor or isinstance(value, nn.Module | torch.optim.Optimizer):
                held.append(f"{frame.f_code.co_name}: {name}")
    return held


@pytest.fixture
def leftover_device_state() -> Callable[[BaseException], list[str]]:
    return device_state_in


def assert_user_sentence(message: str, label: str) -> None:
    """A refusal is one sentence that starts by naming the field."""
    assert message.startswith(label), message
    assert message.endswith("."), message
    assert ". " not in message, message


@pytest.fixture
def user_sentence() -> Callable[[str, str], None]:
    return assert_user_sentence
