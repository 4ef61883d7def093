"""What the worker tests' tasks do: sleep, spin, crash, fail, or return a big result.

Each task is declared in its own module beside this one (``TASK = ...``),
found through ``TASKGATE_TASK_MODULES=tests.support.worker_tasks`` in the web
process and in every worker process, the way a package of one's own is.
This module declares none. Results are plain builtins (the codec stores those).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Mapping

from core.tasks.params import TaskParamError
from core.tasks.task import TaskSpec


def _parse(raw: Mapping[str, object], device=None) -> dict[str, object]:
    if float(raw.get("steps", 1)) < 0:
        raise TaskParamError("Steps cannot be negative.")
    return dict(raw)


def sleepy(params, progress, device):
    """``steps`` steps of ``step_s`` seconds, reporting progress after each.

    With ``log`` (a file path) it appends "work EPOCH" when each step begins
    and "stopped EPOCH" when it ends for any reason, so a test can tell when
    the task was really working.
    """
    steps, step_s = int(params.get("steps", 10)), float(params.get("step_s", 0.1))
    log = params.get("log")

    def note(what: str) -> None:
        if log:
            with open(str(log), "a") as file:
                file.write(f"{what} {time.time()}\n")

    progress(0.0, f"started in pid {os.getpid()}")
    try:
        for step in range(steps):
            note("work")
            time.sleep(step_s)
            progress((step + 1) / steps, f"step {step + 1} of {steps} in pid {os.getpid()}")
    finally:
        note("stopped")
    return {"steps": steps, "pid": os.getpid()}


def spin(params, progress, device):
    """Reports once, then loops for ever without reporting: only a kill stops it."""
    progress(0.0, "spinning")
    while True:
        time.sleep(0.01)


def crash(params, progress, device):
    """Dies the way a segfault or an OOM kill would: no Python exception, no goodbye."""
    progress(0.0, "about to crash")
    time.sleep(float(params.get("delay_s", 0.0)))
    os.kill(os.getpid(), signal.SIGKILL)


def fail(params, progress, device):
    progress(0.0, "about to fail")
    raise RuntimeError("CUDA error: an illegal memory access\nTraceback (most recent call)")


def big(params, progress, device):
    """A result of ``mb`` megabytes."""
    progress(1.0, "done")
    return b"x" * int(float(params.get("mb", 1)) * 1024**2)


def spec(key: str, fn) -> TaskSpec:
    """A test task in group A whose settings pass through as a dict."""
    return TaskSpec(
        key=key,
        title=f"Test task {key}",
        description="A task for the worker tests.",
        group="A",
        fields=(),
        fn=fn,
        parse_params=_parse,
    )
