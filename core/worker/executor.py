"""The local executor: runs granted runs in this host's warm worker processes.

An executor runs bodies, not policy: the admitter (core/runs/admitter.py)
decides which run starts and hands it over with ``start``; the executor
takes a warm child process (``pool.py``), sends it the job, relays its
progress and reports how it ended. Its contract with the admitter:

- ``room()``: how many more runs it can start now;
- ``start(run, fence_at)``: run it, on a thread of its own;
- ``stop(run_id, reason)``: stop it at its next progress step (the child is
  killed after ``grace_s``);
- ``renewed(mine, fence_at)``: the leases of ``mine`` were renewed, so the
  children may go on until ``fence_at``; any other run of its was lost and
  stops at once (self-fencing);
- ``close()``: stop everything (runs that never started go back to the queue).

What it reports goes through the admitter's ``Outcomes``: ``started`` once the
body runs (only then is the run ``running``), ``progress``, and ``finished``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from core.runs.sentences import (
    CANCELLED_WHILE_RUNNING,
    FENCED,
    SERVER_STOPPED,
    crash_sentence,
    timed_out_sentence,
)
from core.runs.sql import GrantedRun
from core.worker import codec
from core.worker.child import Job
from core.worker.pool import Child, ChildPool
from db.models import RunStatus

log = logging.getLogger(__name__)

PROGRESS_WRITE_S = 0.25
"""Fastest a run's progress is written to its row; the watchers read it about as often."""


class Outcomes(Protocol):
    """Where an executor reports its runs (the admitter)."""

    def started(self, run_id: str, device: str) -> bool:
        """The body runs; False if the run is no longer this process's (stop it)."""

    def progress(self, run_id: str, fraction: float, message: str) -> None: ...

    def finished(
        self, run_id: str, status: RunStatus, error: str | None, result: bytes | None = None
    ) -> None: ...

    def not_started(self, run_id: str) -> None:
        """The body never ran (a shutdown): back to the queue in its place."""


@dataclass
class _Active:
    run: GrantedRun
    fence_at: float
    reason: str | None = None
    """Why the run must stop: "cancel", "fenced", "shutdown" or "timed_out"; None: go on."""
    child: Child | None = None
    running: bool = False

    def stop(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
        child = self.child
        if child is not None:
            try:
                child.stop.set()
            except ValueError:  # the child was killed and its shared page closed meanwhile
                pass


class LocalExecutor:
    """Runs granted runs in ``pool``'s child processes on ``device``, at most ``slots`` at once."""

    def __init__(
        self,
        pool: ChildPool,
        *,
        device: str,
        grace_s: float,
        max_result_bytes: int,
        slots: int | None = None,
        groups: Collection[str] | None = None,
    ) -> None:
        self.device = device
        self.slots = slots
        self.groups = None if groups is None else tuple(groups)
        self._pool = pool
        self._grace_s = grace_s
        self._max_result_bytes = max_result_bytes
        self._outcomes: Outcomes | None = None
        self._lock = threading.Lock()
        self._active: dict[str, _Active] = {}
        self._threads: list[threading.Thread] = []

    def attach(self, outcomes: Outcomes) -> None:
        self._outcomes = outcomes

    def room(self) -> int:
        if self.slots is None:
            return 1 << 20
        with self._lock:
            return max(0, self.slots - len(self._active))

    def active_ids(self) -> list[str]:
        with self._lock:
            return list(self._active)

    def start(self, run: GrantedRun, fence_at: float) -> None:
        entry = _Active(run, fence_at)
        thread = threading.Thread(
            target=self._run, args=(entry,), name=f"taskgate-run-{run.id[:8]}", daemon=True
        )
        with self._lock:
            self._active[run.id] = entry
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def stop(self, run_id: str, reason: str) -> None:
        with self._lock:
            entry = self._active.get(run_id)
        if entry is not None:
            entry.stop(reason)

    def renewed(self, mine: set[str], fence_at: float) -> None:
        with self._lock:
            entries = list(self._active.values())
        for entry in entries:
            if entry.run.id not in mine:
                entry.stop("fenced")
                continue
            entry.fence_at = fence_at
            child = entry.child
            if child is not None:
                try:
                    child.deadline.value = fence_at
                except ValueError:  # killed meanwhile: nothing left to fence
                    pass

    def close(self) -> None:
        """Stop every run and wait for them (a grace period at most, then kills)."""
        with self._lock:
            entries = list(self._active.values())
            threads = list(self._threads)
        for entry in entries:
            entry.stop("shutdown")
        deadline = time.monotonic() + self._grace_s + 2.0
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._pool.close()

    # one run -------------------------------------------------------------------------
    def _run(self, entry: _Active) -> None:
        assert self._outcomes is not None, "attach() the admitter first"
        run = entry.run
        try:
            self._execute(entry)
        except Exception:
            log.exception("run %s could not be carried out", run.id)
            self._outcomes.finished(
                run.id, RunStatus.FAILED, "The worker could not run it; see the server log."
            )
        finally:
            with self._lock:
                self._active.pop(run.id, None)

    def _execute(self, entry: _Active) -> None:
        assert self._outcomes is not None
        run = entry.run
        if entry.reason is not None:  # stopped before a child was even taken
            self._ended_early(entry)
            return
        child = self._pool.take()
        child.stop.clear()
        child.deadline.value = entry.fence_at
        entry.child = child
        if entry.reason is not None:
            child.stop.set()
        settings = run.params
        if run.inputs is not None:  # an uploaded image: params records only its size
            settings = {**settings, **codec.decode(run.inputs)}
        child.send(Job(run.id, run.task, settings, self.device, self._max_result_bytes))
        ending = self._relay(entry, child)
        entry.child = None
        if ending is None:  # killed, or died: never hand it out again
            self._pool.discard(child)
        else:
            self._pool.give_back(child)
        if not entry.running and (ending is None or ending[0] != "failed"):
            self._ended_early(entry)
            return
        self._record(entry, ending, child)

    def _ended_early(self, entry: _Active) -> None:
        """The body never started: a cancel ends it, anything else gives it back."""
        assert self._outcomes is not None
        if entry.reason == "cancel":
            self._outcomes.finished(entry.run.id, RunStatus.CANCELLED, CANCELLED_WHILE_RUNNING)
        else:
            self._outcomes.not_started(entry.run.id)

    def _relay(self, entry: _Active, child: Child) -> tuple | None:
        """Pass the child's messages on until its ending; None if it died or had to be killed."""
        assert self._outcomes is not None
        written = -1.0
        pending: tuple[float, str] | None = None
        stop_asked: float | None = None
        cap_at: float | None = None
        while True:
            if cap_at is not None and time.monotonic() >= cap_at:
                entry.stop("timed_out")
            if entry.reason is not None and stop_asked is None:
                child.stop.set()
                stop_asked = time.monotonic()
            if stop_asked is not None and time.monotonic() - stop_asked > self._grace_s:
                log.warning(
                    "run %s did not stop within %g s; killing its process",
                    entry.run.id,
                    self._grace_s,
                )
                child.kill()
                return None
            try:
                if not child.conn.poll(0.1):
                    if not child.alive:
                        return None
                    message = None
                else:
                    message = child.conn.recv()
            except (EOFError, OSError):
                return None
            now = time.monotonic()
            if message is None:
                pass
            elif message[0] == "progress":
                pending = (min(max(message[1], 0.0), 1.0), message[2][:500])
            elif message[0] == "device":  # the body starts now
                entry.running = self._outcomes.started(entry.run.id, message[1])
                if not entry.running:
                    entry.stop("fenced")
                elif entry.run.max_run_s is not None:  # from the start the owner sees
                    cap_at = now + entry.run.max_run_s
            else:
                return message
            if pending is not None and now - written >= PROGRESS_WRITE_S:
                self._outcomes.progress(entry.run.id, *pending)
                pending, written = None, now

    def _record(self, entry: _Active, ending: tuple | None, child: Child) -> None:
        assert self._outcomes is not None
        finished = self._outcomes.finished
        run_id = entry.run.id
        kind, *details = ending or (None,)
        if kind == "succeeded":
            finished(run_id, RunStatus.SUCCEEDED, None, details[0])
        elif kind == "failed":
            finished(run_id, RunStatus.FAILED, details[0])
        elif kind == "fenced" or entry.reason == "fenced":
            finished(run_id, RunStatus.LOST, FENCED)
        elif entry.reason == "shutdown":
            finished(run_id, RunStatus.LOST, SERVER_STOPPED)
        elif entry.reason == "cancel":
            finished(run_id, RunStatus.CANCELLED, CANCELLED_WHILE_RUNNING)
        elif entry.reason == "timed_out":
            finished(run_id, RunStatus.TIMED_OUT, timed_out_sentence(entry.run.max_run_s))
        else:
            finished(run_id, RunStatus.FAILED, crash_sentence(child.exitcode))
