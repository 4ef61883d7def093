"""Sampling, pruning and the history queries, on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from core.metrics import (
    OccupancyPoint,
    OccupancySampler,
    RunCounts,
    prune_history,
    run_counts,
    run_stats,
    runs_since,
)
from core.metrics.timeseries import SAMPLES, bucketed
from db.models import OccupancyMinute, OccupancySample, TaskRun
from tests.admin.support import (
    Clock,
    write_minutes,
    write_run,
    write_samples,
)
from tests.support.runs import WAIT_S, SlotUser
from tests.worker.support import set_group

# A fixed instant on a bucket boundary of every window, so tests can reason in seconds.
T0 = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)


def _count(engine, model) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def test_the_sampler_writes_one_row_per_group_from_the_occupancy(groups):
    app, db_engine = groups.app, groups.engine
    set_group(app, "B", limit=4, paused=True)
    holder = SlotUser(app, "A", "u1")
    assert holder.granted.wait(WAIT_S)
    waiter = SlotUser(app, "A", "u2")
    assert waiter.queued.wait(WAIT_S)
    try:
        app.occupancy.fresh()  # what the sampler reads next is what the queue holds now
        assert OccupancySampler(db_engine, app.occupancy, Clock(T0)).sample() == 2
    finally:
        holder.release()
        waiter.release()
    with Session(db_engine) as session:
        rows = session.exec(select(OccupancySample).order_by(OccupancySample.group_name)).all()
    got = [(r.ts, r.group_name, r.limit, r.running, r.queued) for r in rows]
    assert got == [(T0, "A", 1, 1, 1), (T0, "B", 4, 0, 0)]


def test_buckets_hold_the_peak_of_each_interval_computed_in_sql(db_engine):
    # 30 one-second samples: running 0..2 cycling, one burst of queue length 5 at second 14.
    values = [(i % 3, 5 if i == 14 else 0) for i in range(30)]
    write_samples(db_engine, "A", T0, values, limit=2)
    write_samples(db_engine, "B", T0, [(1, 0)] * 30, limit=4)
    first = int(T0.timestamp()) // 10
    series = bucketed(db_engine, SAMPLES, first, first + 2, 10)
    starts = [T0 + timedelta(seconds=s) for s in (0, 10, 20)]
    peaks = zip(starts, (0, 5, 0), strict=True)
    assert series["A"] == [OccupancyPoint(at, 2, queued, 2) for at, queued in peaks]
    assert series["B"] == [OccupancyPoint(at, 1, 0, 4) for at in starts]


def test_prune_forgets_old_samples_roll_up_and_finished_runs_only(db_engine):
    old = T0 - timedelta(days=8)
    write_samples(db_engine, "A", old, [(1, 0)] * 5)
    write_samples(db_engine, "A", T0 - timedelta(days=1), [(1, 0)] * 3)
    write_minutes(db_engine, "A", old, 3)
    write_minutes(db_engine, "A", T0 - timedelta(days=1), 2)
    write_run(db_engine, "old-done", "A", old, 1, 2)
    write_run(db_engine, "old-running", "A", old, 1, None, status="running")
    write_run(db_engine, "new-done", "A", T0 - timedelta(hours=1), 1, 2)
    pruned = prune_history(db_engine, timedelta(days=7), now=T0)
    assert (pruned.samples, pruned.minutes, pruned.runs) == (5, 3, 1)
    assert _count(db_engine, OccupancySample) == 3
    assert _count(db_engine, OccupancyMinute) == 2
    with Session(db_engine) as session:
        assert sorted(session.exec(select(TaskRun.id)).all()) == ["new-done", "old-running"]


def _nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(q * len(ordered)) - 1]


def test_run_stats_give_counts_throughput_and_nearest_rank_percentiles(db_engine):
    waits = [0.5, 1.0, 2.0, 3.0, 10.0, 0.25, 4.0, 8.0, 6.0, 1.5]
    runs = [2.0, 2.5, 3.0, 30.0, 4.0, 5.0, 6.0, 2.2, 3.3, 7.7]
    for i, (wait, run) in enumerate(zip(waits, runs, strict=True)):
        status = "failed" if i in (3, 7) else "succeeded"
        write_run(db_engine, f"a{i}", "A", T0 - timedelta(minutes=50 - i), wait, run, status)
    write_run(db_engine, "b0", "B", T0 - timedelta(minutes=30), 1.0, 1.0, status="lost")
    write_run(db_engine, "b1", "B", T0 - timedelta(minutes=30), 100.0, None, "timed_out")
    write_run(db_engine, "b2", "B", T0 - timedelta(minutes=20), 0.0, None, status="running")
    write_run(db_engine, "old", "A", T0 - timedelta(hours=3), 99.0, 99.0)

    stats = {s.group: s for s in run_stats(db_engine, T0 - timedelta(hours=1), T0)}
    a = stats["A"]
    assert (a.runs, a.failures, a.runs_per_hour) == (10, 2, 10.0)
    assert a.wait.p50_s == pytest.approx(_nearest_rank(waits, 0.5), abs=0.01)
    assert a.wait.p95_s == pytest.approx(_nearest_rank(waits, 0.95), abs=0.01)
    assert a.run.p50_s == pytest.approx(_nearest_rank(runs, 0.5), abs=0.01)
    assert a.run.p95_s == pytest.approx(_nearest_rank(runs, 0.95), abs=0.01)
    # B: the lost run counts as a failure; the timed-out and running ones never ran to an end.
    assert (stats["B"].runs, stats["B"].failures) == (1, 1)
    assert run_counts(db_engine, T0 - timedelta(hours=1)) == {
        "A": RunCounts(10, 2),
        "B": RunCounts(1, 1),
    }


def test_runs_since_filter_by_group_and_status_newest_first(db_engine):
    write_run(db_engine, "r1", "A", T0 - timedelta(minutes=3), 1.0, 2.0)
    write_run(db_engine, "r2", "B", T0 - timedelta(minutes=2), 0.5, 1.0, status="failed")
    write_run(db_engine, "r3", "A", T0 - timedelta(minutes=1), 4.0, None, status="timed_out")
    since = T0 - timedelta(hours=1)
    assert [r.id for r in runs_since(db_engine, since)] == ["r3", "r2", "r1"]
    assert [r.id for r in runs_since(db_engine, since, groups=["A"])] == ["r3", "r1"]
    assert [r.id for r in runs_since(db_engine, since, statuses=["failed"])] == ["r2"]
    r1 = runs_since(db_engine, since, groups=["A"], statuses=["succeeded"])[0]
    assert (r1.wait_s, r1.run_s) == pytest.approx((1.0, 2.0))
    r3 = runs_since(db_engine, since, statuses=["timed_out"])[0]
    assert (r3.wait_s, r3.run_s) == (pytest.approx(4.0), None)
