"""Durable runs end to end in one process: submit, claim, slot, worker process, outcome, result."""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Callable

import pytest
from sqlmodel import Session, select

from core.limiter import OwnerLimitReached, QueueFull, UnknownGroup
from core.run_watch import RunView
from core.runs.sentences import CANCELLED_WHILE_RUNNING, CANCELLED_WHILE_WAITING
from core.tasks.result import TaskResult
from db.models import TaskRun
from tests.worker.support import WAIT_S, finished, result_of, run_row, running, set_group, wait_for

MATMUL = {"n": 128, "repeats": 3, "dtype": "float32"}


def _count(app) -> int:
    with Session(app.engine) as session:
        return len(session.exec(select(TaskRun.id)).all())


def test_a_submitted_run_succeeds_in_a_worker_process_and_keeps_its_result(app):
    run_id = app.runs.submit("matmul", MATMUL, "ann")
    row = finished(app, run_id)
    assert (row.status, row.error, row.progress_fraction) == ("succeeded", None, 1.0)
    assert row.owner == "ann" and row.group_name == "A" and row.params == MATMUL
    assert row.started_at is not None and "CPU" in row.device
    result = result_of(app, run_id)
    assert isinstance(result, TaskResult) and result.parts[0].label == "Best"
    sleepy = finished(app, app.runs.submit("sleepy", {"steps": 1}, "ann"))
    assert result_of(app, sleepy.id)["pid"] != os.getpid(), "tasks run in a worker process"


def test_runs_start_in_submission_order_once_a_paused_group_resumes(app):
    set_group(app, "A", paused=True)
    ids = [app.runs.submit("sleepy", {"steps": 1, "step_s": 0.01}, f"p{i}") for i in range(4)]
    assert all(run_row(app, run_id).status == "queued" for run_id in ids)
    views = [app.watcher.view(run_id) for run_id in ids]
    assert [(view.position, view.queued, view.paused) for view in views] == [
        (1, 4, True),
        (2, 4, True),
        (3, 4, True),
        (4, 4, True),
    ]
    set_group(app, "A", paused=False)
    rows = [finished(app, run_id) for run_id in ids]
    assert all(row.status == "succeeded" for row in rows)
    starts = [row.started_at for row in rows]
    assert starts == sorted(starts)
    assert all(a.finished_at <= b.started_at for a, b in zip(rows, rows[1:], strict=False))


def test_waiters_behind_a_running_run_are_told_a_wait_in_queue_order(app):
    quick = {"steps": 1, "step_s": 0.01}
    finished(app, app.runs.submit("sleepy", quick, "ann"))  # a typical duration to count with
    holder = app.runs.submit("sleepy", {"steps": 600, "step_s": 0.05}, "ann")
    running(app, holder)
    ids = [app.runs.submit("sleepy", quick, f"w{i}") for i in range(3)]
    views = _views_once(app, ids, lambda views: all(v.eta_s is not None for v in views))
    app.runs.cancel(holder, "test")
    assert [(view.position, view.queued, view.paused) for view in views] == [
        (1, 3, False),
        (2, 3, False),
        (3, 3, False),
    ]
    etas = [view.eta_s for view in views]
    assert etas == sorted(etas), etas
    assert all(finished(app, run_id).status == "succeeded" for run_id in ids)


def _views_once(app, ids: list[str], shown: Callable[[list[RunView]], bool]) -> list[RunView]:
    """The watcher's views of ``ids`` once they satisfy ``shown`` (bounded: a hang fails)."""
    deadline = time.monotonic() + 30
    seen: dict = {}
    while True:
        current = app.watcher.wait(ids, seen, 0.5)
        views = [current[run_id] for run_id in ids]
        if shown(views):
            return views
        assert time.monotonic() < deadline, f"the watcher never showed it: {views}"
        seen = {view.id: view.shown() for view in views}


def test_refusals_are_sentences_and_write_nothing(app):
    set_group(app, "A", paused=True, max_queue=1)
    app.runs.submit("sleepy", {"steps": 1}, "ann")
    before = _count(app)
    with pytest.raises(QueueFull, match="queue is full"):
        app.runs.submit("sleepy", {"steps": 1}, "bob")
    set_group(app, "A", max_queue=None, per_owner_limit=1)
    with pytest.raises(OwnerLimitReached, match="You already have 1 run queued or running"):
        app.runs.submit("sleepy", {"steps": 1}, "ann")
    assert _count(app) == before
    from core.tasks import registry

    known = registry.tasks()
    known["nowhere"] = dataclasses.replace(known["sleepy"], key="nowhere", group="Z")
    try:
        with pytest.raises(UnknownGroup, match="Group Z does not exist"):
            app.runs.submit("nowhere", {}, "ann")
    finally:
        del known["nowhere"]
    assert _count(app) == before


def test_two_tabs_racing_cannot_both_slip_under_the_per_person_cap(app):
    set_group(app, "A", paused=True, per_owner_limit=1)
    for round_ in range(10):
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def tab(
            owner: str = f"racer{round_}",
            barrier: threading.Barrier = barrier,
            outcomes: list[str] = outcomes,
        ) -> None:
            barrier.wait(5)
            try:
                app.runs.submit("sleepy", {"steps": 1}, owner)
                outcomes.append("queued")
            except OwnerLimitReached:
                outcomes.append("refused")

        threads = [threading.Thread(target=tab) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert sorted(outcomes) == ["queued", "refused"]


def test_cancel_takes_a_queued_run_out_and_stops_a_running_one(app):
    first = app.runs.submit("sleepy", {"steps": 400, "step_s": 0.05}, "ann")
    running(app, first)
    second = app.runs.submit("sleepy", {"steps": 1}, "bob")
    assert not app.runs.cancel(second, "ann", owner="ann"), "only its owner cancels a run"
    assert app.runs.cancel(second, "bob", owner="bob")
    row = finished(app, second)
    assert (row.status, row.started_at, row.error) == ("cancelled", None, CANCELLED_WHILE_WAITING)
    assert row.cancelled_by == "bob"
    assert app.runs.cancel(first, "ann")
    row = finished(app, first)
    assert (row.status, row.error) == ("cancelled", CANCELLED_WHILE_RUNNING)
    assert not app.runs.cancel(first, "ann"), "a finished run cannot be cancelled"
    assert finished(app, app.runs.submit("sleepy", {"steps": 1}, "cat")).status == "succeeded"


def test_a_task_that_never_reports_progress_is_killed_after_the_grace_period(app):
    spinning = app.runs.submit("spin", {}, "ann")
    wait_for(app, spinning, lambda row: row.progress_message == "spinning", "spinning")
    waiting = app.runs.submit("sleepy", {"steps": 1}, "bob")
    app.runs.cancel(spinning, "ann")
    row = finished(app, spinning)
    assert (row.status, row.error) == ("cancelled", CANCELLED_WHILE_RUNNING)
    assert finished(app, waiting).status == "succeeded"


def test_a_crashing_task_fails_with_a_sentence_and_the_next_run_goes_on(app):
    crashing = app.runs.submit("crash", {}, "ann")
    after = app.runs.submit("sleepy", {"steps": 1}, "bob")
    row = finished(app, crashing)
    assert row.status == "failed"
    assert row.error.startswith("The process running the task was killed by signal 9")
    assert finished(app, after).status == "succeeded"


def test_a_failing_task_and_an_oversized_result_are_one_sentence_each(app, monkeypatch):
    row = finished(app, app.runs.submit("fail", {}, "ann"))
    assert (row.status, row.error) == (
        "failed",
        "The task failed with RuntimeError: CUDA error: an illegal memory access.",
    )
    row = finished(app, app.runs.submit("big", {"mb": 17}, "ann"))
    assert row.status == "failed"
    assert row.error.startswith("The result is 17.0 MB, more than the 16.0 MB a result may take")
    assert result_of(app, row.id) is None
    row = finished(app, app.runs.submit("sleepy", {"steps": -1}, "ann"))
    assert (row.status, row.error) == ("failed", "Steps cannot be negative.")


def test_runs_of_a_dead_process_on_another_host_are_found_by_their_lease(app):
    """The running process's own admitter finds them (its look every 0.25 s): no call here."""
    from datetime import timedelta

    from db.models import utcnow

    expired = utcnow() - timedelta(seconds=1)
    with Session(app.engine) as session:
        for run_id, status in (("old-running", "running"), ("old-granted", "queued")):
            session.add(
                TaskRun(
                    id=run_id, group_name="B", task="sleepy", owner="ann", status=status,
                    host="a-previous-container", pid=1, worker_id="gone", lease_expires_at=expired,
                    enqueued_at=utcnow() - timedelta(minutes=5), params={"steps": 1},
                )
            )  # fmt: skip
        session.commit()
    lost = wait_for(app, "old-running", lambda row: row.status == "lost", "lost")
    assert lost.error == "The worker running it stopped; Run again."
    # Granted to the dead process but never started: back in the queue, then it runs.
    assert finished(app, "old-granted").status == "succeeded", "it keeps its place and runs"


def test_a_run_is_running_only_once_its_body_runs(app, monkeypatch):
    """A granted run whose worker process is still starting holds its slot but is not running."""
    executor = app.admitter._executor
    assert executor is not None
    pool = executor._pool
    release, taken = threading.Event(), threading.Event()
    take = pool.take

    def slow_take():  # a worker process that takes its time to start (importing torch, say)
        taken.set()
        assert release.wait(WAIT_S)
        return take()

    monkeypatch.setattr(pool, "take", slow_take)
    run_id = app.runs.submit("sleepy", {"steps": 1, "step_s": 0.01}, "ann")
    assert taken.wait(WAIT_S)
    row = run_row(app, run_id)
    assert (row.status, row.worker_id is not None, row.started_at) == ("queued", True, None)
    assert app.occupancy.fresh()["A"].running == 1, "it holds its slot meanwhile"
    release.set()
    assert finished(app, run_id).status == "succeeded"
