"""Everything one Taskgate process holds: settings, database, limiter, background jobs.

``start_app`` is called once per process (the Streamlit entrypoint caches
it with ``st.cache_resource``; tests and tools call it directly). It migrates
the database, sets up the admin password, loads the groups into a fresh
limiter, wires the limiter's run events to the database, and starts the
scheduler (group reload, occupancy sampling, pruning).
``App.close`` undoes it in reverse order and is also registered to run at
interpreter exit, so events still in the recorder's queue reach the
database when the server stops.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from sqlalchemy import Engine, update
from sqlmodel import select

from core.auth import AdminAuth, admin_password_hash
from core.group_sync import GroupSync
from core.limiter import Limiter, RunEvents, SharedLimiter
from core.metrics import OccupancySampler, prune_history
from core.runs import RunRecorder
from core.scheduler import (
    CONFIG_RELOAD_INTERVAL_S,
    PRUNE_INTERVAL_S,
    Scheduler,
    add_interval_job,
    build_scheduler,
)
from core.settings import Settings
from core.tasks import registry
from core.tasks.assignment import seed_assignments
from db.engine import get_engine, session_scope
from db.migrate import upgrade
from db.models import TaskRun, utcnow

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    engine: Engine
    limiter: Limiter | SharedLimiter
    recorder: RunRecorder
    groups: GroupSync
    scheduler: Scheduler
    admin: AdminAuth

    def close(self) -> None:
        # Jobs first, waiting for a run in progress: a sample or a reload must
        # not use the limiter or the database after they were closed.
        if self.scheduler.running:
            self.scheduler.shutdown()
        if isinstance(self.limiter, SharedLimiter):
            self.limiter.close()
        self.recorder.close()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def mark_orphaned_runs_lost(engine: Engine) -> int:
    """Runs left queued or running by a dead process on this host can never finish."""
    host = socket.gethostname()
    with session_scope(engine) as session:
        pids = session.exec(
            select(TaskRun.pid)
            .where(TaskRun.host == host, TaskRun.status.in_(("queued", "running")))
            .distinct()
        ).all()
        dead = [pid for pid in pids if pid != os.getpid() and not _pid_alive(pid)]
        if not dead:
            return 0
        result = session.execute(
            update(TaskRun)
            .where(
                TaskRun.host == host,
                TaskRun.pid.in_(dead),
                TaskRun.status.in_(("queued", "running")),
            )
            .values(status="lost", finished_at=utcnow(), error="The server process stopped.")
        )
        return result.rowcount


def build_limiter(settings: Settings, events: RunEvents) -> Limiter | SharedLimiter:
    """This process's own limiter, or with TASKGATE_LIMITER=shared one shared by every process."""
    if settings.limiter == "shared":
        return SharedLimiter(
            settings.database_url,
            default_limit=settings.default_limit,
            events=events,
            lease_ttl_s=settings.lease_ttl_s,
        )
    return Limiter(default_limit=settings.default_limit, events=events)


def start_app(settings: Settings) -> App:
    upgrade(settings.database_url)
    engine = get_engine(settings.database_url)
    admin = AdminAuth(admin_password_hash(engine, settings.admin_password))
    lost = mark_orphaned_runs_lost(engine)
    if lost:
        log.warning("marked %d run(s) of stopped processes as lost", lost)
    recorder = RunRecorder(engine)
    limiter = build_limiter(settings, recorder)
    seed_assignments(engine, registry.tasks().values(), settings.default_limit)
    groups = GroupSync(engine, limiter)
    groups.refresh()
    groups.seed_durations()
    retention = timedelta(days=settings.retention_days)
    scheduler = build_scheduler()
    add_interval_job(scheduler, "reload-groups", groups.poll, CONFIG_RELOAD_INTERVAL_S)
    sampler = OccupancySampler(engine, limiter, interval_s=settings.sample_interval_s)
    add_interval_job(scheduler, "sample-occupancy", sampler.sample, settings.sample_interval_s)
    add_interval_job(
        scheduler,
        "prune-history",
        partial(prune_history, engine, retention),
        PRUNE_INTERVAL_S,
        run_at_start=True,
    )
    scheduler.start()
    app = App(settings, engine, limiter, recorder, groups, scheduler, admin)
    atexit.register(app.close)
    return app
