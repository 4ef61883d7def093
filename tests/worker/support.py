"""Helpers for the worker tests: an App whose worker processes know the test tasks."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from sqlmodel import Session, select

from core.app import App, start_app
from core.runs import sql
from core.settings import Settings
from core.worker import codec
from db.engine import dispose_engines
from db.migrate import upgrade
from db.models import ConcurrencyGroup, TaskRun
from tests.support.database import POSTGRES_URL_VARIABLE, postgres_base_url, postgres_schema_url
from tests.support.optional import skip_unless_available

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
    with app.db.read() as connection:
        content = sql.result_of(connection, run_id)
    return None if content is None else codec.decode(content)


def set_group(app: App, name: str, **settings) -> None:
    """Edit a group's row as the admin page would, and tell the admitter now."""
    with Session(app.engine) as session:
        row = session.exec(select(ConcurrencyGroup).where(ConcurrencyGroup.name == name)).one()
        for key, value in settings.items():
            setattr(row, key, value)
        row.version += 1
        session.add(row)
        session.commit()
    app.group_changed()


def started_app(url: str) -> Iterator[App]:
    """An App with its embedded executor on ``url``, closed afterwards (a fixture's body)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TASKGATE_TASK_MODULES", TEST_TASKS)  # here and in the worker processes
        started = start_app(
            Settings(
                database_url=url,
                cancel_grace_s=1.0,
                result_max_bytes=16 * 1024**2,
                # The default lease: no test here measures its expiry (test_worker_processes
                # does, with its own), and a 6 s one ran out at load 33, recording runs lost.
                lease_ttl_s=Settings().lease_ttl_s,
                admin_password="letmein-letmein",
                # These tests submit the same run back to back on purpose; the rule that
                # refuses that from people has tests of its own (tests/runs/).
                duplicate_window_s=0.0,
            )
        )
        yield started
        started.close()
    dispose_engines()


def postgres_app() -> Iterator[App]:
    """``started_app`` on a migrated schema of its own (skips without a server, fails in CI)."""
    base = postgres_base_url()
    skip_unless_available(
        "postgres",
        base is not None,
        f"set {POSTGRES_URL_VARIABLE}=postgresql+psycopg://USER@HOST:5432/DB to run it",
    )
    with postgres_schema_url(base) as url:
        upgrade(url)
        yield from started_app(url)
