"""Tasks that misbehave on purpose, for the worker tests.

Enabled with ``TASKGATE_TASK_MODULES=tests.support.tasks``.

Importing this module adds them to the task registry, in the web process
and in every worker process, the way a plugin module would. They run in
group A. Results are plain builtins (the result codec builds those).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Mapping

from core.tasks import registry
from core.tasks.params import TaskParamError


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


for _key, _fn in {"sleepy": sleepy, "spin": spin, "crash": crash, "fail": fail, "big": big}.items():
    registry.TASKS[_key] = registry.TaskSpec(
        key=_key,
        title=f"Test task {_key}",
        group="A",
        fn=_fn,
        parse=_parse,
        fields=(),
        description="A task for the worker tests.",
    )
