"""The App's background jobs sample occupancy and prune history on their own.

Groups are not reloaded by a job: the admitter reads them at every decision.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from core.app import start_app
from core.jobs import PRUNE_INTERVAL_S
from core.settings import Settings
from db.models import OccupancySample, utcnow
from tests.admin.support import write_samples


def test_start_app_schedules_sampling_and_pruning(sqlite_url):
    settings = Settings(
        database_url=sqlite_url, sample_interval_s=2.5, retention_days=1, workers="external"
    )
    app = start_app(settings)
    try:
        jobs = {job.id: job for job in app.scheduler.get_jobs()}
        interval_s = {name: job.trigger.interval.total_seconds() for name, job in jobs.items()}
        assert interval_s["sample-occupancy"] == 2.5
        assert interval_s["prune-history"] == PRUNE_INTERVAL_S
        assert "reload-groups" not in interval_s

        # Run the jobs' own callables (the scheduler may run them too meanwhile):
        # a sample per group, and a prune that keeps only the retention's day.
        write_samples(app.engine, "A", utcnow() - timedelta(days=2), [(1, 0)] * 3)
        jobs["sample-occupancy"].func()
        jobs["prune-history"].func()
        with Session(app.engine) as session:
            rows = session.exec(select(OccupancySample)).all()
        assert {row.group_name for row in rows} == {"A", "B"}
        assert min(row.ts for row in rows) > utcnow() - timedelta(days=1)
    finally:
        app.close()
