"""A second identical submit within a moment makes no second run (SQLite and PostgreSQL).

A double-click, a resent API request or two tabs pressing Run together reach
``RunService.submit`` twice with the same owner, task and settings. The
service refuses the second inside its locked transaction, so even two
submits racing through a barrier make one run, and says why in a sentence.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, update

from core.limiter import LimiterError
from core.runs import service as run_service
from core.runs import sql
from core.runs.database import RunDatabase
from core.runs.service import DuplicateRun, RunService

SETTINGS = {"steps": 1, "step_s": 0.01}


@pytest.fixture(params=["sqlite", "postgres"])
def db(request, monkeypatch) -> Iterator[RunDatabase]:
    monkeypatch.setenv("TASKGATE_TASK_MODULES", "tests.support.worker_tasks")
    database = RunDatabase(request.getfixturevalue(f"{request.param}_url"))
    with database.write() as connection:  # nothing is granted: every run stays queued
        connection.execute(update(sql.GROUPS).values(paused=True))
    yield database
    database.dispose()


def run_count(db: RunDatabase) -> int:
    with db.read() as connection:
        return connection.execute(select(func.count()).select_from(sql.RUNS)).scalar_one()


def test_a_second_identical_submit_is_refused_with_a_sentence(db):
    service = RunService(db)
    service.submit("sleepy", SETTINGS, "ann")
    with pytest.raises(DuplicateRun) as refused:
        service.submit("sleepy", dict(SETTINGS), "ann")
    assert isinstance(refused.value, LimiterError)
    assert str(refused.value) == (
        "You asked for this same run (same task and settings) less than 3 s ago, "
        "so it was not started twice; wait a moment to run it again on purpose."
    )
    assert run_count(db) == 1


def test_other_settings_another_owner_or_another_task_are_new_runs(db):
    service = RunService(db)
    service.submit("sleepy", SETTINGS, "ann")
    service.submit("sleepy", {**SETTINGS, "steps": 2}, "ann")
    service.submit("sleepy", SETTINGS, "bob")
    service.submit("spin", {}, "ann")
    assert run_count(db) == 4


def test_the_same_run_after_the_window_is_a_new_run(db, monkeypatch):
    service = RunService(db)
    first = service.submit("sleepy", SETTINGS, "ann")
    with db.write() as connection:  # as if it had been asked for a while ago
        connection.execute(
            update(sql.RUNS)
            .where(sql.RUNS.c.id == first)
            .values(enqueued_at=sql.clock(connection) - run_service.timedelta(seconds=10))
        )
    service.submit("sleepy", SETTINGS, "ann")
    assert run_count(db) == 2


def test_two_identical_submits_racing_make_one_run(db):
    service = RunService(db)
    for round_ in range(5):
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def click(owner: str = f"racer{round_}", barrier=barrier, outcomes=outcomes) -> None:
            barrier.wait(5)
            try:
                service.submit("sleepy", SETTINGS, owner)
                outcomes.append("queued")
            except DuplicateRun:
                outcomes.append("refused")

        threads = [threading.Thread(target=click) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(outcomes) == ["queued", "refused"], round_
    assert run_count(db) == 5
