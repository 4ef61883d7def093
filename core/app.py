"""Everything one Taskgate process holds: settings, database, the admitter, background jobs.

``start_app`` is called once per process (the Streamlit entrypoint caches
it with ``st.cache_resource``; tests and tools call it directly). It migrates
the database, sets up the admin password, starts the admitter (which sweeps
runs whose process died) with, under ``TASKGATE_WORKERS=embedded`` (the
default), the local executor and its warm worker processes, the run watcher
the pages wait on, and the background jobs (occupancy sampling, pruning:
core/jobs.py). ``App.close`` undoes it in reverse order; the server's lifespan
calls it when the server stops (core/ui/bootstrap.py), and it is also
registered to run at interpreter exit for tools and tests, so every running
run is recorded with a final status.
"""

from __future__ import annotations

import atexit
import gc
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine

from core.auth import AdminAuth, admin_password_hash
from core.groups import GroupService
from core.jobs import PRUNE_INTERVAL_S, Job, start_jobs, stop_jobs
from core.metrics import OccupancySampler, prune_history
from core.run_watch import RunWatcher
from core.runs.admin import RunAdmin
from core.runs.admitter import Admitter
from core.runs.database import RunDatabase
from core.runs.held import HeldRun
from core.runs.occupancy import Occupancy
from core.runs.service import RunService
from core.settings import Settings
from core.tasks import registry
from core.tasks.assignment import seed_assignments
from core.tasks.device import pick_device
from core.worker.executor import LocalExecutor
from core.worker.pool import ChildPool
from db.engine import get_engine
from db.migrate import schema_problem, upgrade

log = logging.getLogger(__name__)

STALE_DECISION_S = 10.0
"""An admitter that has not looked at the queue for this long is stuck (it looks every 0.5 s
at most, and a slow database makes each look a few seconds at worst)."""

GC_INTERVAL_S = 10.0
"""Seconds between the process's own full garbage collections (objects frozen at start
are not walked, so one costs milliseconds)."""


@dataclass
class App:
    settings: Settings
    engine: Engine
    db: RunDatabase
    admitter: Admitter
    runs: RunService
    run_admin: RunAdmin
    occupancy: Occupancy
    """What pages show of groups, read from the queue (core/runs/occupancy.py)."""
    watcher: RunWatcher
    scheduler: BackgroundScheduler
    admin: AdminAuth

    def groups(self) -> GroupService:
        """The group service, whose changes apply and show at once in this process."""
        return GroupService(self.engine, self.occupancy.fresh, self.group_changed)

    def group_changed(self) -> None:
        """A group's settings changed: decide again now, and show the change."""
        self.occupancy.invalidate()
        self.admitter.wake()

    def held_run(self, group: str) -> HeldRun:
        """A held run in ``group`` for page code (``hold_slot``)."""
        return HeldRun(self.runs, self.admitter, self.watcher, group)

    def health(self) -> list[str]:
        """Why this process cannot serve runs now, as sentences (``/readyz``); empty when it can."""
        problems = [problem] if (problem := schema_problem(self.engine)) else []
        if not self.admitter.alive():
            problems.append("The admitter has stopped: queued runs do not start.")
        elif time.monotonic() - self.admitter.last_decision > STALE_DECISION_S:
            problems.append(
                f"The admitter has not looked at the queue for over {STALE_DECISION_S:g} s."
            )
        return problems

    def close(self) -> None:
        """Stop runs first (each is recorded), then the watcher, the jobs and the database."""
        self.admitter.stop()
        self.watcher.close()
        # Then the jobs, waiting for a run in progress: a sample must not use the
        # database after it was closed.
        stop_jobs(self.scheduler)
        self.db.dispose()


def start_admitter(
    settings: Settings,
    db: RunDatabase,
    *,
    execute: bool = True,
    device: str | None = None,
    groups: list[str] | None = None,
    slots: int | None = None,
    host: str | None = None,
) -> Admitter:
    """A started admitter, with a local executor and its warm worker processes if ``execute``."""
    executor = None
    if execute:
        executor = LocalExecutor(
            ChildPool(),
            device=device or str(pick_device()),
            grace_s=settings.cancel_grace_s,
            max_result_bytes=settings.result_max_bytes,
            slots=slots,
            groups=groups,
        )
    admitter = Admitter(db, lease_ttl_s=settings.lease_ttl_s, executor=executor, host=host)
    admitter.start()
    return admitter


def start_app(settings: Settings) -> App:
    upgrade(settings.database_url)
    engine = get_engine(settings.database_url)
    admin = AdminAuth(admin_password_hash(engine, settings.admin_password))
    seed_assignments(engine, registry.tasks().values(), settings.default_limit)
    db = RunDatabase(settings.database_url)
    admitter = start_admitter(settings, db, execute=settings.workers == "embedded")
    runs = RunService(db, admitter.wake, settings.duplicate_window_s)
    run_admin = RunAdmin(db, admitter.wake)
    occupancy = Occupancy(db.reader)
    watcher = RunWatcher(db.reader, occupancy.snapshot)
    retention = timedelta(days=settings.retention_days)
    sampler = OccupancySampler(engine, occupancy, interval_s=settings.sample_interval_s)
    scheduler = start_jobs(
        [
            Job("sample-occupancy", sampler.sample, settings.sample_interval_s),
            Job(
                "prune-history",
                partial(prune_history, engine, retention),
                PRUNE_INTERVAL_S,
                run_at_start=True,
            ),
            # Streamlit's collection after every script run is off (.streamlit/config.toml);
            # this one full collection every few seconds frees what closed sessions left in
            # cycles (a decoded result's arrays among them) without holding up any page run.
            Job("collect-garbage", gc.collect, GC_INTERVAL_S),
        ]
    )
    app = App(settings, engine, db, admitter, runs, run_admin, occupancy, watcher, scheduler, admin)
    atexit.register(app.close)
    return app
