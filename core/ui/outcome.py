"""How a request to run a task ended, kept so that later reruns of the page show it again."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

OutcomeStatus = Literal["succeeded", "refused", "failed", "cancelled", "invalid"]

MAX_ERROR_CHARS = 300
"""Long enough for any useful first line of an exception, short enough to read."""


@dataclass(frozen=True)
class Outcome:
    """The end of one request, as the page shows it.

    ``message`` is one sentence for everything but success: why the limiter
    refused, why the settings were invalid, what the task raised, or how the
    run came to be cancelled. ``result`` is the task's return value on success.
    """

    status: OutcomeStatus
    message: str = ""
    result: Any = None
    settings: Mapping[str, object] = field(default_factory=dict)
    group: str = ""
    device: str = ""
    wait_s: float | None = None
    run_s: float | None = None


def failure_sentence(error: Exception) -> str:
    """E.g. "The task failed with RuntimeError: CUDA error: out of memory." — no traceback.

    Only the first line of the message is kept: tracebacks and library
    diagnostics that follow it help an admin reading the log, not the user.
    """
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if len(first_line) > MAX_ERROR_CHARS:
        first_line = first_line[: MAX_ERROR_CHARS - 1] + "…"
    name = type(error).__name__
    if not first_line:
        return f"The task failed with {name}."
    ending = "" if first_line.endswith((".", "!", "?", "…")) else "."
    return f"The task failed with {name}: {first_line}{ending}"
