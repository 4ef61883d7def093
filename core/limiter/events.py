"""The sink that hears about every run, and how outcomes are named for it.

The limiter reports to a sink instead of writing anywhere itself, so it can
be tested with an in-memory fake and wired to the database in the app.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal, Protocol, TypeVar

from core.limiter.config import GroupConfig
from core.limiter.errors import LimiterError, QueueTimeout
from core.limiter.records import RunInfo

logger = logging.getLogger(__name__)

RunStatus = Literal["succeeded", "failed", "cancelled", "timed_out", "rejected"]


class RunEvents(Protocol):
    """Receives the life of each request.

    Called on the requesting thread and never while the limiter's lock is
    held, so a slow sink delays only its own caller; still, a sink must not
    block (a database writer should enqueue and return). ``run_finished`` is
    called exactly once per request, also for requests refused before they
    were ever queued.
    """

    def group_created(self, config: GroupConfig) -> None: ...

    def run_queued(self, run: RunInfo) -> None: ...

    def run_started(self, run: RunInfo) -> None: ...

    def run_finished(self, run: RunInfo, status: RunStatus, error: str | None) -> None: ...


def error_text(exc: BaseException) -> str:
    """``"ExcType: message"``, the form stored as a run's error."""
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def waiting_outcome(exc: BaseException) -> RunStatus:
    """Name the end of a request that never got to run its block."""
    if isinstance(exc, QueueTimeout):
        return "timed_out"
    if isinstance(exc, LimiterError):
        return "rejected"
    return body_outcome(exc)


def body_outcome(exc: BaseException) -> RunStatus:
    """Name the end of a block that raised.

    Anything that is not an ``Exception`` (Streamlit's stop and rerun,
    KeyboardInterrupt, RunCancelled) means someone gave up on the run rather
    than the task failing.
    """
    return "failed" if isinstance(exc, Exception) else "cancelled"


class EventRelay:
    """Calls an optional sink so that a broken sink cannot break the limiter.

    Each call gets a copy of the run as it is at that moment: a sink that
    queues work for later must not see fields that changed afterwards.
    Only ``Exception``s are contained; a ``BaseException`` from a sink (a
    Streamlit stop, say) is left to propagate, and the limiter releases
    around it as around any other.
    """

    def __init__(self, sink: RunEvents | None) -> None:
        self._sink = sink

    def group_created(self, config: GroupConfig) -> None:
        if self._sink is not None:
            self._call("group_created", config)

    def run_queued(self, run: RunInfo) -> None:
        if self._sink is not None:
            self._call("run_queued", copy.copy(run))

    def run_started(self, run: RunInfo) -> None:
        if self._sink is not None:
            self._call("run_started", copy.copy(run))

    def run_finished(self, run: RunInfo, status: RunStatus, error: str | None) -> None:
        if self._sink is not None:
            self._call("run_finished", copy.copy(run), status, error)

    def _call(self, event: str, *args: object) -> None:
        try:
            getattr(self._sink, event)(*args)
        except Exception:
            logger.exception("Run event sink failed in %s; the limiter carries on", event)


Held = TypeVar("Held")


@contextmanager
def reported_run(
    events: EventRelay,
    run: RunInfo,
    acquire: Callable[[], Held],
    release: Callable[[Held], None],
) -> Iterator[RunInfo]:
    """Hold what ``acquire`` returns around the block, and report the run's life once.

    Both limiters' ``slot`` is this: whatever ends the wait or the block
    (including a BaseException such as Streamlit's stop) releases first and
    then reports exactly one ``run_finished`` with the outcome named as the
    contract says.
    """
    try:
        held = acquire()
    except BaseException as exc:
        run.finished_at = time.time()
        events.run_finished(run, waiting_outcome(exc), error_text(exc))
        raise
    try:
        events.run_started(run)
        yield run
    except BaseException as exc:
        release(held)
        events.run_finished(run, body_outcome(exc), error_text(exc))
        raise
    release(held)
    events.run_finished(run, "succeeded", None)
