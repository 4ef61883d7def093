"""The queue ETA: each run ahead counted for what it is; None when nothing is known."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from core.limiter.queue_eta import (
    LATE_FLOOR_S,
    RunningRun,
    estimate_wait,
    estimate_waits,
    remaining_s,
)
from core.run_durations import Line, Typical, line_waits


def test_a_free_slot_means_no_wait():
    assert estimate_wait([], [], slots=1) == 0.0
    assert estimate_wait([RunningRun(5, typical_s=10)], [], slots=2) == 0.0


def test_a_running_run_leaves_after_its_typical_duration_minus_what_it_ran():
    assert estimate_wait([RunningRun(30, typical_s=100)], [], slots=1) == 70


def test_progress_beats_the_typical_duration_once_reported():
    # 40 % done in 20 s: 30 s left, whatever the typical duration says.
    assert remaining_s(RunningRun(20, typical_s=100, fraction=0.4)) == pytest.approx(30)
    # Barely started: the pace says little, the typical duration is used.
    assert remaining_s(RunningRun(1, typical_s=100, fraction=0.01)) == 99


def test_queued_runs_ahead_take_the_earliest_free_slot_in_turn():
    running = [RunningRun(0, typical_s=10), RunningRun(0, typical_s=100)]
    # Slots free at 10 and 100; the 5 s run ahead takes the first (10 -> 15), then the
    # 20 s run takes 15 -> 35: the waiter gets the slot at 35, not after the classifier.
    assert estimate_wait(running, [5, 20], slots=2) == 35
    assert estimate_wait(running, [5, 20, 30], slots=2) == 65


def test_a_long_run_ahead_is_not_averaged_away():
    classifier = RunningRun(4, typical_s=104)
    assert estimate_wait([classifier], [2, 2], slots=1) == 104


def test_nothing_known_is_none():
    assert estimate_wait([RunningRun(3)], [], slots=1) is None
    assert estimate_wait([RunningRun(3, typical_s=9)], [None], slots=1) is None


def test_a_late_run_is_re_estimated_never_zero():
    late = remaining_s(RunningRun(100, typical_s=60))
    assert late is not None and late >= LATE_FLOOR_S
    later = remaining_s(RunningRun(200, typical_s=60))
    assert later > late, "the longer it overruns, the longer it is expected to take"
    assert remaining_s(RunningRun(59.9, typical_s=60)) == pytest.approx(0.1)


def test_a_lowered_limit_frees_a_slot_only_below_the_limit():
    running = [RunningRun(0, typical_s=s) for s in (10, 20, 30)]
    assert estimate_wait(running, [], slots=1) == 30
    assert estimate_wait(running, [], slots=2) == 20


def test_a_whole_line_in_one_pass_gives_each_waiter_its_own_estimate():
    running = [RunningRun(10, typical_s=30), RunningRun(2, fraction=0.5)]
    queued = [5.0, 20.0, None, 7.0]
    waits = estimate_waits(running, queued, slots=2)
    assert waits == [estimate_wait(running, queued[:i], slots=2) for i in range(len(queued))]
    assert waits == [2.0, 7.0, 20.0, None], "unknown from the first run ahead without a duration"
    assert estimate_waits([RunningRun(3)], [5.0, 5.0], slots=1) == [None, None]


def test_a_groups_line_is_estimated_from_each_runs_task_and_settings():
    now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)

    def row(task, n, started_s_ago=None):
        started = None if started_s_ago is None else now - timedelta(seconds=started_s_ago)
        return SimpleNamespace(
            id=f"{task}-{n}",
            task=task,
            params={"n": n},
            started_at=started,
            progress_fraction=None,
        )

    typical = Typical({("matmul", '{"n": 1}'): 4.0, ("classify", '{"n": 9}'): 60.0})
    line = Line(
        running=[row("classify", 9, started_s_ago=15)],
        queued=[row("matmul", 1), row("classify", 9), row("matmul", 1)],
    )
    assert line_waits(line, 1, typical, now) == [45.0, 49.0, 109.0, 113.0]
    assert line_waits(line, 2, typical, now) == [0.0, 4.0, 45.0, 49.0]


def test_a_group_has_a_slot():
    with pytest.raises(ValueError):
        estimate_wait([], [], slots=0)
