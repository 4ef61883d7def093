"""A long queue stays rows: only granted runs hold anything, FIFO still holds.

A run is granted only when a slot is free for it (``sql.choose``), none while
its group is paused; the rest of the queue costs nothing but its rows.
Waiting runs still end on a cancel or their queue timeout, the counts people
see come from ``task_run``, and back-to-back runs reuse one warm worker process.
"""

from __future__ import annotations

from datetime import timedelta

from core.limiter import QueueTimeout
from core.runs import sql
from core.runs.sentences import CANCELLED_WHILE_WAITING
from tests.worker.support import finished, result_of, run_row, running, set_group

LONG = {"steps": 400, "step_s": 0.05}


def _grantable_to_another_process(app) -> list[str]:
    """What another process with room for ten runs would be granted now (nothing, if full)."""
    with app.db.read() as connection:
        return sql.choose(connection, sql.Grantee("another-process", None, 10))


def test_a_group_at_its_limit_grants_nothing_more_and_drains_in_order(app):
    holder = app.runs.submit("sleepy", LONG, "ann")
    running(app, holder)
    queued = [app.runs.submit("sleepy", {"steps": 1, "step_s": 0.01}, f"q{i}") for i in range(5)]
    assert [run_row(app, run_id).worker_id for run_id in queued] == [None] * 5
    assert _grantable_to_another_process(app) == [], "limit 1 is full, fleet-wide"
    assert app.runs.cancel(holder, "ann")
    rows = [finished(app, run_id) for run_id in queued]
    assert [row.status for row in rows] == ["succeeded"] * 5
    starts = [row.started_at for row in rows]
    assert starts == sorted(starts), "granted one at a time, in submission order"


def test_a_paused_group_grants_nothing_yet_a_cancel_ends_its_queued_run(app):
    set_group(app, "A", paused=True)
    ids = [app.runs.submit("sleepy", {"steps": 1, "step_s": 0.01}, f"p{i}") for i in range(3)]
    assert _grantable_to_another_process(app) == []
    assert app.runs.cancel(ids[1], "p1", owner="p1")
    row = finished(app, ids[1])
    assert (row.status, row.started_at, row.error) == ("cancelled", None, CANCELLED_WHILE_WAITING)
    assert [run_row(app, run_id).worker_id for run_id in (ids[0], ids[2])] == [None, None]
    set_group(app, "A", paused=False)
    assert [finished(app, run_id).status for run_id in (ids[0], ids[2])] == ["succeeded"] * 2


def test_a_waiting_run_ends_timed_out_after_the_group_s_queue_timeout(app):
    set_group(app, "A", paused=True, queue_timeout_s=1.0)
    try:
        run_id = app.runs.submit("sleepy", {"steps": 1}, "ann")
        row = finished(app, run_id)
        assert (row.status, row.started_at) == ("timed_out", None)
        assert row.error == str(QueueTimeout("A", 1.0))
        assert row.finished_at - row.enqueued_at >= timedelta(seconds=1)
    finally:
        set_group(app, "A", queue_timeout_s=None)


def test_what_people_see_counts_the_whole_queue(app):
    set_group(app, "A", paused=True)
    ids = [app.runs.submit("sleepy", {"steps": 1}, f"v{i}") for i in range(3)]
    shown = app.occupancy.fresh()["A"]
    assert (shown.queued, shown.running) == (3, 0) and shown.oldest_wait_s is not None
    for run_id in ids:
        app.runs.cancel(run_id, "admin")
    for run_id in ids:
        finished(app, run_id)


def test_back_to_back_runs_reuse_the_warm_worker_process(app):
    first = finished(app, app.runs.submit("sleepy", {"steps": 1, "step_s": 0.0}, "ann"))
    # Other settings: the same ones this soon would be refused as a double-click (DuplicateRun).
    second = finished(app, app.runs.submit("sleepy", {"steps": 2, "step_s": 0.0}, "ann"))
    assert (first.status, second.status) == ("succeeded", "succeeded")
    assert result_of(app, first.id)["pid"] == result_of(app, second.id)["pid"]
