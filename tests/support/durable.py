"""Helpers for tests that drive a real server's durable runs from the test process."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from sqlmodel import Session, select

from core.runs.database import RunDatabase
from core.runs.service import RunService
from db.engine import get_engine
from db.models import TaskRun

DB_TIMEOUT_S = 60.0


def run_service(url: str, monkeypatch: pytest.MonkeyPatch) -> RunService:
    """The same service the server's pages use, submitting into the server's database.

    The test tasks are made known here as in the server (``TASKGATE_TASK_MODULES``),
    for this test only.
    """
    monkeypatch.setenv("TASKGATE_TASK_MODULES", "tests.support.worker_tasks")
    return RunService(RunDatabase(url))


def runs(url: str) -> list[TaskRun]:
    with Session(get_engine(url)) as session:
        return list(session.exec(select(TaskRun).order_by(TaskRun.enqueued_at)).all())


def wait_for_runs(
    url: str,
    done: Callable[[dict[str, TaskRun]], bool],
    what: str,
    timeout_s: float = DB_TIMEOUT_S,
):
    """Poll ``task_run`` (another process writes it) until ``done`` holds, with a bound."""
    deadline = time.monotonic() + timeout_s
    while True:
        rows = {row.id: row for row in runs(url)}
        if done(rows):
            return rows
        if time.monotonic() > deadline:
            pytest.fail(
                f"task_run never showed {what}: {[(r.task, r.status) for r in rows.values()]}"
            )
        time.sleep(0.05)  # polling another process's database, not synchronising threads


def log_tracebacks(log: str) -> list[str]:
    """The tracebacks in a server log."""
    return log.split("Traceback (most recent call last)")[1:]
