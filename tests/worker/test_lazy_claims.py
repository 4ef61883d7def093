"""A long queue stays rows: only the runs that can start soon are claimed, FIFO still holds.

The dispatcher claims per group at most ``limit + claims.LOOKAHEAD`` runs
(claimed or running, fleet-wide), none while the group is paused; the rest of
the queue costs no thread. Queued runs nobody claims still end on a cancel or
their queue timeout, the counts people see come from ``task_run``, and
back-to-back runs reuse one warm worker process.
"""

from __future__ import annotations

from datetime import timedelta

from core.group_view import GroupView
from core.limiter import QueueTimeout
from core.worker import claims, store
from core.worker.sentences import CANCELLED_WHILE_WAITING
from tests.worker.support import finished, result_of, run_row, running, set_group, wait_for

LONG = {"steps": 400, "step_s": 0.05}


def _claim_as_another_worker(app) -> list[str]:
    """What a second dispatcher serving every group could claim now (nothing, if full)."""
    with app.runs_db.write() as connection:
        lease = store.clock(connection) + timedelta(seconds=30)
        taken = claims.claim(connection, "another-worker", None, None, lease, fleet_order=False)
    return [run.id for run in taken]


def test_a_group_at_its_limit_has_only_the_look_ahead_claimed_and_drains_in_order(app):
    holder = app.runs.submit("sleepy", LONG, "ann")
    running(app, holder)
    queued = [app.runs.submit("sleepy", {"steps": 1, "step_s": 0.01}, f"q{i}") for i in range(5)]
    head = wait_for(app, queued[0], lambda row: row.worker_id is not None, "claimed")
    assert head.worker_id == app.dispatcher.worker_id
    assert [run_row(app, run_id).worker_id for run_id in queued[1:]] == [None] * 4
    assert _claim_as_another_worker(app) == [], "limit 1 + look-ahead 1 is full, fleet-wide"
    assert app.runs.cancel(holder, "ann")
    rows = [finished(app, run_id) for run_id in queued]
    assert [row.status for row in rows] == ["succeeded"] * 5
    starts = [row.started_at for row in rows]
    assert starts == sorted(starts), "claimed a few at a time, still in submission order"


def test_a_paused_group_claims_nothing_yet_a_cancel_ends_its_queued_run(app):
    set_group(app, "A", paused=True)
    ids = [app.runs.submit("sleepy", {"steps": 1, "step_s": 0.01}, f"p{i}") for i in range(3)]
    assert _claim_as_another_worker(app) == []
    assert app.runs.cancel(ids[1], "p1", owner="p1")
    row = finished(app, ids[1])
    assert (row.status, row.started_at, row.error) == ("cancelled", None, CANCELLED_WHILE_WAITING)
    assert [run_row(app, run_id).worker_id for run_id in (ids[0], ids[2])] == [None, None]
    set_group(app, "A", paused=False)
    assert [finished(app, run_id).status for run_id in (ids[0], ids[2])] == ["succeeded"] * 2


def test_an_unclaimed_run_ends_timed_out_after_the_group_s_queue_timeout(app):
    set_group(app, "A", paused=True, queue_timeout_s=1.0)
    try:
        run_id = app.runs.submit("sleepy", {"steps": 1}, "ann")
        row = finished(app, run_id)
        assert (row.status, row.started_at) == ("timed_out", None)
        assert row.error == str(QueueTimeout("A", 1.0))
        assert row.finished_at - row.enqueued_at >= timedelta(seconds=1)
    finally:
        set_group(app, "A", queue_timeout_s=None)


def test_what_people_see_counts_the_whole_queue_not_only_the_claimed_runs(app):
    set_group(app, "A", paused=True)
    ids = [app.runs.submit("sleepy", {"steps": 1}, f"v{i}") for i in range(3)]
    assert app.limiter.snapshot()["A"].queued == 0, "nothing claimed in a paused group"
    shown = GroupView(app.limiter, app.runs_db.reader).snapshot()["A"]
    assert shown.queued == 3 and shown.oldest_wait_s is not None
    for run_id in ids:
        app.runs.cancel(run_id, "admin")
    for run_id in ids:
        finished(app, run_id)


def test_back_to_back_runs_reuse_the_warm_worker_process(app):
    first = finished(app, app.runs.submit("sleepy", {"steps": 1, "step_s": 0.0}, "ann"))
    second = finished(app, app.runs.submit("sleepy", {"steps": 1, "step_s": 0.0}, "ann"))
    assert (first.status, second.status) == ("succeeded", "succeeded")
    assert result_of(app, first.id)["pid"] == result_of(app, second.id)["pid"]
