"""Everything one Taskgate process holds: settings, database, limiter, runs, background jobs.

``start_app`` is called once per process (the Streamlit entrypoint caches
it with ``st.cache_resource``; tests and tools call it directly). It migrates
the database, sets up the admin password, sweeps runs whose worker died,
loads the groups into a fresh limiter, starts the run service and (with
``TASKGATE_WORKERS=embedded``, the default) a dispatcher with its warm worker
processes, the run watcher the pages wait on, and the scheduler (group
reload, occupancy sampling, pruning: core/jobs.py). ``App.close`` undoes it
in reverse order; the server's lifespan calls it when the server stops
(core/ui/bootstrap.py), and it is also registered to run at interpreter exit
for tools and tests, so every running run is recorded with a final status.
"""

from __future__ import annotations

import atexit
import gc
import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine

from core.auth import AdminAuth, admin_password_hash
from core.group_sync import GroupSync
from core.group_view import GroupView
from core.held_runs import HeldRuns
from core.jobs import CONFIG_RELOAD_INTERVAL_S, PRUNE_INTERVAL_S, Job, start_jobs, stop_jobs
from core.limiter import GroupConfig, Limiter, LimiterBackend, RunEvents, RunInfo
from core.metrics import OccupancySampler, prune_history
from core.run_watch import RunWatcher
from core.runs import RunRecorder
from core.settings import Settings
from core.shared_limiter import SharedLimiter
from core.shared_limiter.database import LimiterDatabase
from core.tasks import registry
from core.tasks.assignment import seed_assignments
from core.tasks.device import pick_device
from core.worker import store as worker_store
from core.worker.dispatcher import Dispatcher
from core.worker.pool import ChildPool
from core.worker.run_admin import RunAdmin
from core.worker.service import RunService
from db.engine import get_engine
from db.migrate import schema_problem, upgrade

log = logging.getLogger(__name__)

GC_INTERVAL_S = 10.0
"""Seconds between the process's own full garbage collections (objects frozen at start
are not walked, so one costs milliseconds)."""


@dataclass
class App:
    settings: Settings
    engine: Engine
    limiter: LimiterBackend
    recorder: RunRecorder
    groups: GroupSync
    scheduler: BackgroundScheduler
    admin: AdminAuth
    runs: RunService
    watcher: RunWatcher
    runs_db: LimiterDatabase
    run_admin: RunAdmin
    held_runs: HeldRuns
    occupancy: GroupView
    """What pages show of groups: the limiter's slots, the durable queue (core/group_view.py)."""
    dispatcher: Dispatcher | None = None
    pool: ChildPool | None = None

    def health(self) -> list[str]:
        """Why this process cannot serve runs now, as sentences (``/readyz``); empty when it can."""
        problems = [problem] if (problem := schema_problem(self.engine)) else []
        # The runner: the embedded dispatcher's loop thread (none with external workers).
        if self.dispatcher is not None and not self.dispatcher._loop_thread.is_alive():
            problems.append("The run dispatcher has stopped: queued runs do not start.")
        return problems

    def close(self) -> None:
        """Stop runs first (each is recorded), then the jobs, the limiter and the writers."""
        if self.dispatcher is not None:
            self.dispatcher.stop()
        if self.pool is not None:
            self.pool.close()
        self.watcher.close()
        # Then the jobs, waiting for a run in progress: a sample or a reload must
        # not use the limiter or the database after they were closed.
        stop_jobs(self.scheduler)
        self.limiter.close()
        self.recorder.close()
        self.runs_db.dispose()


class GroupCreations:
    """The limiter's event sink where runs are durable: only groups created on first use.

    A durable run's row is written by the run service and its dispatcher,
    conditionally; the limiter's own run events would race those writes, so
    only ``group_created`` reaches the recorder, which stores the group.
    """

    def __init__(self, recorder: RunRecorder) -> None:
        self._recorder = recorder

    def group_created(self, config: GroupConfig) -> None:
        self._recorder.group_created(config)

    def run_queued(self, run: RunInfo) -> None:
        pass

    def run_started(self, run: RunInfo) -> None:
        pass

    def run_finished(self, run: RunInfo, status: str, error: str | None) -> None:
        pass


def build_limiter(settings: Settings, events: RunEvents | None) -> LimiterBackend:
    """This process's own limiter, or with TASKGATE_LIMITER=shared one shared by every process.

    The one place that picks a backend; everything else takes a ``LimiterBackend``.
    """
    if settings.limiter == "shared":
        return SharedLimiter(
            settings.database_url,
            default_limit=settings.default_limit,
            events=events,
            lease_ttl_s=settings.lease_ttl_s,
        )
    return Limiter(default_limit=settings.default_limit, events=events)


def sweep_runs(db: LimiterDatabase) -> None:
    """Record runs whose worker's lease ran out lost; give their queued runs back to the queue.

    Leases, not process ids: this finds the runs of a process that died on
    any host (a previous container, another machine) once their lease ends.
    """
    with db.write() as connection:
        lost, returned = worker_store.sweep(connection, worker_store.clock(connection))
    if lost or returned:
        log.warning(
            "runs of stopped workers: %d recorded lost, %d back in the queue", lost, returned
        )


def start_dispatcher(
    settings: Settings,
    db: LimiterDatabase,
    limiter: LimiterBackend,
    device: str | None = None,
    **options: Any,
) -> tuple[Dispatcher, ChildPool]:
    """A started dispatcher and its warm worker processes (the web server's, or a worker's)."""
    pool = ChildPool()
    dispatcher = Dispatcher(
        db,
        limiter,
        pool,
        device=device or str(pick_device()),
        lease_ttl_s=settings.lease_ttl_s,
        grace_s=settings.cancel_grace_s,
        max_result_bytes=settings.result_max_bytes,
        fleet_order=settings.limiter == "shared",
        **options,
    )
    dispatcher.start()
    return dispatcher, pool


def start_app(settings: Settings) -> App:
    upgrade(settings.database_url)
    engine = get_engine(settings.database_url)
    admin = AdminAuth(admin_password_hash(engine, settings.admin_password))
    recorder = RunRecorder(engine)
    limiter = build_limiter(settings, GroupCreations(recorder))
    seed_assignments(engine, registry.tasks().values(), settings.default_limit)
    groups = GroupSync(engine, limiter)
    groups.refresh()
    groups.seed_durations()
    runs_db = LimiterDatabase(settings.database_url)
    runs = RunService(runs_db)
    run_admin = RunAdmin(runs_db)
    sweep = partial(sweep_runs, runs_db)
    sweep()
    dispatcher = pool = None
    if settings.workers == "embedded":
        dispatcher, pool = start_dispatcher(settings, runs_db, limiter)
        runs.on_change(dispatcher.wake)
        run_admin.on_change(dispatcher.wake)
    watcher = RunWatcher(runs_db.reader, limiter.snapshot)
    held_runs = HeldRuns(runs_db, settings.lease_ttl_s)
    occupancy = GroupView(limiter, runs_db.reader)
    retention = timedelta(days=settings.retention_days)
    sampler = OccupancySampler(engine, occupancy, interval_s=settings.sample_interval_s)
    jobs = [
        Job("reload-groups", groups.poll, CONFIG_RELOAD_INTERVAL_S),
        Job("sample-occupancy", sampler.sample, settings.sample_interval_s),
        Job(
            "prune-history",
            partial(prune_history, engine, retention),
            PRUNE_INTERVAL_S,
            run_at_start=True,
        ),
        # Streamlit's collection after every script run is off (.streamlit/config.toml); this
        # one full collection every few seconds frees what closed sessions left in cycles (a
        # decoded result's arrays among them) without holding up any page run.
        Job("collect-garbage", gc.collect, GC_INTERVAL_S),
        Job("renew-held-runs", held_runs.renew, settings.lease_ttl_s / 3),
    ]
    if dispatcher is None:  # a dispatcher sweeps with its heartbeat; without one, this job does
        jobs.append(Job("sweep-runs", sweep, settings.lease_ttl_s / 3))
    scheduler = start_jobs(jobs)
    app = App(
        settings,
        engine,
        limiter,
        recorder,
        groups,
        scheduler,
        admin,
        runs,
        watcher,
        runs_db,
        run_admin,
        held_runs,
        occupancy,
        dispatcher,
        pool,
    )
    atexit.register(app.close)
    return app
