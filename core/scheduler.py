"""The process's background jobs, each on its own thread at a fixed rate.

Each job has a thread of its own, so a slow job never delays another and no
job waits for a pool worker: the group reload and the occupancy sampler run
on time while page scripts keep the other threads busy. A job never
overlaps itself. When a run overran its interval, or the thread woke up
late (another thread held the GIL), the missed ticks are coalesced into one
run that starts at once, and the log says which job ran late, by how much
and how long its previous run took; a tick is never dropped silently. A job
that raises is logged and runs again at its next tick.

``Scheduler.shutdown`` stops the threads and waits for a run in progress to
finish, so a job never writes after the services it uses were closed.
There is no executor to be shut down under a job by the interpreter's exit
(what made APScheduler print ``cannot schedule new futures after shutdown``
when the server stopped).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

PRUNE_INTERVAL_S = 600.0
STOP_TIMEOUT_S = 10.0
"""How long ``shutdown`` waits for a run in progress before leaving it behind."""


@dataclass
class JobStats:
    """What one job has done so far (read by tests and benchmarks)."""

    runs: int = 0
    late_runs: int = 0
    """Runs that started a whole interval or more after their tick."""
    worst_late_s: float = 0.0
    failures: int = 0


class Job:
    """``func`` every ``interval_s`` seconds on a daemon thread of its own."""

    def __init__(
        self, job_id: str, func: Callable[[], object], interval_s: float, *, run_at_start: bool
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"job {job_id!r} needs a positive interval, not {interval_s!r}")
        self.id = job_id
        self.func = func
        self.interval_s = interval_s
        self.stats = JobStats()
        self._run_at_start = run_at_start
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name=f"taskgate-job-{job_id}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> bool:
        """Wait for the thread to end; True if it did."""
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _loop(self) -> None:
        due = time.monotonic() + (0.0 if self._run_at_start else self.interval_s)
        previous_took = 0.0
        while not self._stop.wait(max(0.0, due - time.monotonic())):
            started = time.monotonic()
            if started - due >= self.interval_s:
                self._note_late(started - due, previous_took)
                due = started  # the ticks missed meanwhile are coalesced into this run
            try:
                self.func()
            except Exception:
                self.stats.failures += 1
                log.exception("background job %s failed; it runs again at its next tick", self.id)
            self.stats.runs += 1
            previous_took = time.monotonic() - started
            due += self.interval_s

    def _note_late(self, late_s: float, previous_took: float) -> None:
        self.stats.late_runs += 1
        self.stats.worst_late_s = max(self.stats.worst_late_s, late_s)
        why = (
            f"its previous run took {previous_took:.2f} s"
            if previous_took >= self.interval_s
            else "its thread was not scheduled in time (the process is busy)"
        )
        log.warning(
            "background job %s ran %.2f s late (interval %.2g s): %s; missed ticks coalesced",
            self.id,
            late_s,
            self.interval_s,
            why,
        )


class Scheduler:
    """The process's jobs; started once, shut down once."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self.running = False

    def add(
        self, job_id: str, func: Callable[[], object], seconds: float, *, run_at_start: bool = False
    ) -> Job:
        if job_id in self._jobs:
            raise ValueError(f"there is already a background job called {job_id!r}")
        job = Job(job_id, func, seconds, run_at_start=run_at_start)
        self._jobs[job_id] = job
        if self.running:
            job.start()
        return job

    def get_jobs(self) -> list[Job]:
        return list(self._jobs.values())

    def start(self) -> None:
        self.running = True
        for job in self._jobs.values():
            job.start()

    def shutdown(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Stop every job and wait for runs in progress (up to ``timeout_s`` in all)."""
        self.running = False
        for job in self._jobs.values():
            job.stop()
        deadline = time.monotonic() + timeout_s
        for job in self._jobs.values():
            if not job.join(max(0.0, deadline - time.monotonic())):
                log.warning("background job %s was still running at shutdown", job.id)


def build_scheduler() -> Scheduler:
    return Scheduler()


def add_interval_job(
    scheduler: Scheduler,
    job_id: str,
    func: Callable[[], object],
    seconds: float,
    *,
    run_at_start: bool = False,
) -> Job:
    """Run ``func`` every ``seconds``; the first run is one interval in, or at once."""
    return scheduler.add(job_id, func, seconds, run_at_start=run_at_start)
