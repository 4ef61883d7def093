"""The warm worker process: imports torch once, then runs one task at a time for its parent.

A parent (``pool.Child``) sends a job over a Pipe; the child re-checks the
settings with the task's own ``parse`` (the page's check was made by another
process, perhaps for another device), runs the task and sends back progress
messages and then exactly one ending: the encoded result, a failure
sentence, or word that it stopped.

The task's ``progress`` callback is where a run is stopped, as tasks expect
(core/tasks/progress.py): it raises when the parent asked the run to stop
(an Event), and when ``time.monotonic()`` has passed the "lease valid until"
deadline the parent pushes forward after each lease renewal. CLOCK_MONOTONIC
is one clock for the whole machine, so if the parent freezes or cannot reach
the database, the child fences itself at its next progress step, before the
lease can run out elsewhere.

The child ignores SIGINT (a Ctrl+C reaches the whole process group; the
parent decides what happens to runs) and exits when its parent is gone: on
EOF of the pipe while idle, and at the next progress step while running.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from core.limiter.errors import RunCancelled
from core.runs.sentences import NO_SUCH_TASK, failure_sentence
from core.worker import codec

log = logging.getLogger(__name__)

SEND_EVERY_S = 0.05
"""Fastest progress messages go to the parent; the last one (fraction 1) always goes."""


@dataclass(frozen=True)
class Job:
    run_id: str
    task: str
    settings: dict[str, Any]
    device: str
    max_result_bytes: int


class LeaseExpired(BaseException):
    """The parent has not renewed the run's lease in time: stop before someone else runs it."""


def serve(conn: Connection, stop: Any, deadline: Any) -> None:
    """The child's main loop: one job at a time until the parent says stop or goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()
    from core.tasks import registry  # imports torch: once per child, before the first job

    registry.tasks()  # TASKGATE_TASK_MODULES comes with the parent's environment
    _send(conn, ("ready", os.getpid()))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        _send(conn, _run(conn, registry, job, stop, deadline, parent))


def _send(conn: Connection, message: tuple) -> None:
    try:
        conn.send(message)
    except OSError:  # the parent is gone: nobody to tell, nothing to finish
        os._exit(0)


def _run(conn, registry, job: Job, stop, deadline, parent: int) -> tuple:
    import torch

    from core.tasks.device import describe
    from core.tasks.params import TaskParamError

    try:
        spec = registry.get(job.task)
    except KeyError:
        return ("failed", NO_SUCH_TASK.format(task=job.task))
    device = torch.device(job.device)
    try:
        params = spec.parse(job.settings, device)
    except TaskParamError as problem:
        return ("failed", str(problem))
    _send(conn, ("device", describe(device)))
    last_sent = -1.0

    def progress(fraction: float, message: str) -> None:
        nonlocal last_sent
        if os.getppid() != parent:
            os._exit(0)
        if stop.is_set():
            raise RunCancelled()
        if time.monotonic() > deadline.value:
            raise LeaseExpired()
        now = time.monotonic()
        if fraction >= 1.0 or now - last_sent >= SEND_EVERY_S:
            _send(conn, ("progress", float(fraction), str(message)))
            last_sent = now

    try:
        result = spec.fn(params, progress, device)
        return ("succeeded", codec.encode(result, job.max_result_bytes))
    except RunCancelled:
        return ("stopped",)
    except LeaseExpired:
        return ("fenced",)
    except codec.ResultTooLarge as too_large:
        return ("failed", str(too_large))
    except Exception as error:
        log.warning("task %s of run %s failed: %s", job.task, job.run_id, error)
        return ("failed", failure_sentence(error))


def main(argv: list[str]) -> None:
    """``python -m core.worker.child CONN_FD SHARED_FD`` (started by ``pool.Child``)."""
    from core.worker.shared import SharedState

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    conn = Connection(int(argv[0]))
    shared = SharedState.attach(int(argv[1]))
    serve(conn, shared.stop, shared.deadline)


if __name__ == "__main__":
    main(sys.argv[1:])
