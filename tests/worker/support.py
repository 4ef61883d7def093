"""Helpers for the worker tests: an App whose worker processes know the test tasks."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlmodel import Session, select

from core.app import App
from core.worker import codec
from core.worker import store as worker_store
from db.models import ConcurrencyGroup, TaskRun

TEST_TASKS = "tests.support.worker_tasks"
WAIT_S = 60.0
"""Bound on every wait: generous, a loaded machine imports torch in a new process slowly."""


def run_row(app: App, run_id: str) -> TaskRun:
    with Session(app.engine, expire_on_commit=False) as session:
        row = session.get(TaskRun, run_id)
        assert row is not None
        session.expunge(row)
        return row


def wait_for(app: App, run_id: str, done: Callable[[TaskRun], bool], what: str) -> TaskRun:
    """Wait (through the app's own watcher, as pages do) until the run's row satisfies ``done``."""
    deadline = time.monotonic() + WAIT_S
    seen: dict = {}
    while True:
        row = run_row(app, run_id)
        if done(row):
            return row
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} never became {what}: {row.status} {row.error}")
        view = app.watcher.wait([run_id], seen, 0.5).get(run_id)
        seen = {run_id: view.shown()} if view else {}


def finished(app: App, run_id: str) -> TaskRun:
    return wait_for(app, run_id, lambda row: row.finished_at is not None, "finished")


def running(app: App, run_id: str) -> TaskRun:
    return wait_for(app, run_id, lambda row: row.status == "running", "running")


def result_of(app: App, run_id: str):
    with app.runs_db.read() as connection:
        content = worker_store.result_of(connection, run_id)
    return None if content is None else codec.decode(content)


def set_group(app: App, name: str, **settings) -> None:
    """Edit a group's row as the admin page would, and apply it to the limiter now."""
    with Session(app.engine) as session:
        row = session.exec(select(ConcurrencyGroup).where(ConcurrencyGroup.name == name)).one()
        for key, value in settings.items():
            setattr(row, key, value)
        row.version += 1
        session.add(row)
        session.commit()
    app.groups.refresh()
