"""The process's background jobs, on APScheduler.

One ``BackgroundScheduler`` runs every job at a fixed interval on a thread
pool with a thread per job, so a slow job never keeps another waiting for a
pool thread. Each job runs one instance at a time (``max_instances=1``):
a tick that comes while its previous run is still going is skipped, and
APScheduler logs it as a warning. Ticks the scheduler missed are coalesced
into one run (``coalesce=True``); a run that starts more than one interval
late is dropped with a warning, since the next tick is at most an interval
away (``misfire_grace_time``). A job that raises is logged in one line and
runs again at its next tick.

``stop_jobs`` (``App.close``, from the server's lifespan) first removes the
jobs, so the scheduler's thread submits nothing more, then waits for runs in
progress: no job writes after the services it uses are closed, and nothing
is submitted to a pool that was shut down (what printed ``cannot schedule
new futures after shutdown`` when this was stopped from ``atexit``, after
the interpreter had shut its pools down).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)

PRUNE_INTERVAL_S = 600.0


@dataclass(frozen=True)
class Job:
    """``func`` every ``interval_s`` seconds; the first run one interval in, or at once."""

    id: str
    func: Callable[[], object]
    interval_s: float
    run_at_start: bool = False

    def __post_init__(self) -> None:
        if self.interval_s <= 0:
            raise ValueError(f"job {self.id!r} needs a positive interval, not {self.interval_s!r}")

    def run_logged(self) -> None:
        """One run; a failure is a warning in one line, and the next tick runs it again."""
        try:
            self.func()
        except Exception as error:
            log.warning(
                "background job %s failed (%s: %s); it runs again in %g s",
                self.id,
                type(error).__name__,
                error,
                self.interval_s,
                exc_info=log.isEnabledFor(logging.DEBUG),
            )


def start_jobs(jobs: Sequence[Job]) -> BackgroundScheduler:
    """A started scheduler running ``jobs``, with one pool thread per job."""
    if len({job.id for job in jobs}) != len(jobs):
        raise ValueError("two background jobs have the same id")
    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=max(1, len(jobs)))},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=UTC,
    )
    now = datetime.now(UTC)
    for job in jobs:
        first = {"next_run_time": now} if job.run_at_start else {}
        scheduler.add_job(
            job.run_logged,
            IntervalTrigger(seconds=job.interval_s, timezone=UTC),
            id=job.id,
            name=job.id,
            misfire_grace_time=max(1, round(job.interval_s)),
            **first,
        )
    scheduler.start()
    return scheduler


def stop_jobs(scheduler: BackgroundScheduler) -> None:
    """Submit nothing more, then wait for the runs in progress to finish."""
    if scheduler.running:
        scheduler.remove_all_jobs()
        scheduler.shutdown(wait=True)
