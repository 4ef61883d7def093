"""Every request's life reaches task_run, off the hot path, and one bad row loses nothing else."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import Session, select

from core.limiter import GroupConfig, Limiter, QueueFull, RunCancelled
from core.runs import RunRecorder
from db.models import ConcurrencyGroup, TaskRun


@pytest.fixture
def recorder(engine):
    started = RunRecorder(engine, flush_interval_s=0.05)
    yield started
    started.close()


def _runs(engine) -> dict[str, TaskRun]:
    with Session(engine) as session:
        return {run.owner: run for run in session.exec(select(TaskRun)).all()}


def test_each_outcome_is_recorded_with_its_times(engine, recorder):
    limiter = Limiter(events=recorder)
    limiter.configure(GroupConfig(name="A", limit=1, max_queue=0))
    with limiter.slot("A", owner="ok", task="matmul", params={"n": 64}):
        with pytest.raises(QueueFull), limiter.slot("A", owner="refused"):
            pass
    with pytest.raises(ValueError), limiter.slot("A", owner="broken"):
        raise ValueError("bad tensor")
    with pytest.raises(RunCancelled), limiter.slot("A", owner="gave-up"):
        raise RunCancelled()
    assert recorder.flush(5)
    runs = _runs(engine)
    assert {owner: run.status for owner, run in runs.items()} == {
        "ok": "succeeded",
        "refused": "rejected",
        "broken": "failed",
        "gave-up": "cancelled",
    }
    ok = runs["ok"]
    assert (ok.group_name, ok.task, ok.params) == ("A", "matmul", {"n": 64})
    assert ok.enqueued_at <= ok.started_at <= ok.finished_at
    assert runs["refused"].started_at is None
    assert runs["broken"].error == "ValueError: bad tensor"


def test_a_waiter_is_recorded_queued_before_it_runs(engine, recorder):
    limiter = Limiter(events=recorder)
    holding, release, queued = threading.Event(), threading.Event(), threading.Event()

    def hold() -> None:
        with limiter.slot("A", owner="first"):
            holding.set()
            release.wait(10)

    def wait() -> None:
        with limiter.slot("A", owner="second", on_wait=lambda info: queued.set()):
            pass

    first, second = threading.Thread(target=hold), threading.Thread(target=wait)
    first.start()
    assert holding.wait(5)
    second.start()
    assert queued.wait(5)
    try:
        assert recorder.flush(5)
        assert _runs(engine)["second"].status == "queued"
    finally:
        release.set()
        first.join(5)
        second.join(5)
    assert recorder.flush(5)
    assert _runs(engine)["second"].status == "succeeded"


def test_a_group_used_before_it_exists_is_stored_for_the_admin(engine, recorder):
    limiter = Limiter(default_limit=2, events=recorder)
    with limiter.slot("Render", owner="someone"):
        pass
    assert recorder.flush(5)
    with Session(engine) as session:
        row = session.exec(select(ConcurrencyGroup).where(ConcurrencyGroup.name == "Render")).one()
    assert row.limit == 2


def test_a_row_the_database_refuses_does_not_lose_the_rest_of_its_batch(engine):
    # A long gap between events still counts as one batch: all of them land together.
    recorder = RunRecorder(engine, flush_interval_s=5)
    limiter = Limiter(events=recorder)
    too_long = "x" * 100  # the limiter accepts it; the database's CHECK does not
    with limiter.slot(too_long, owner="long-name"):
        pass
    with limiter.slot("A", owner="neighbour"):
        pass
    recorder.close()
    assert _runs(engine)["neighbour"].status == "succeeded"
    with Session(engine) as session:
        names = session.exec(select(ConcurrencyGroup.name)).all()
    assert too_long not in names


def test_close_writes_what_is_still_queued(engine):
    recorder = RunRecorder(engine, flush_interval_s=5)
    limiter = Limiter(events=recorder)
    with limiter.slot("A", owner="last"):
        pass
    recorder.close()
    assert _runs(engine)["last"].status == "succeeded"
