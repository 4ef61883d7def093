"""The process's background jobs, on one APScheduler BackgroundScheduler.

Jobs never overlap themselves (``max_instances=1``) and a late tick is
dropped rather than run twice (``coalesce``): a slow database must not pile
up reloads. A job that raises is logged by APScheduler and runs again at its
next tick.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler

CONFIG_RELOAD_INTERVAL_S = 1.0
PRUNE_INTERVAL_S = 600.0


def build_scheduler() -> BackgroundScheduler:
    return BackgroundScheduler(
        daemon=True,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 5},
    )


def add_interval_job(
    scheduler: BackgroundScheduler,
    job_id: str,
    func: Callable[[], object],
    seconds: float,
    *,
    run_at_start: bool = False,
) -> None:
    """Run ``func`` every ``seconds``; the first run is one interval in, or at once."""
    first = {"next_run_time": datetime.now().astimezone()} if run_at_start else {}
    scheduler.add_job(func, "interval", seconds=seconds, id=job_id, replace_existing=True, **first)
