"""A group's run-time cap stops a run as Cancel does and records it ``timed_out``."""

from __future__ import annotations

from tests.worker.support import finished, set_group

GRACE_S = 1.0  # the module App's cancel grace period


def test_a_run_over_the_cap_is_stopped_and_recorded_timed_out(app):
    # A first run waits for a worker process to start (torch imports for seconds, and that
    # counts as run time); this one leaves a warm process for the capped run.
    assert finished(app, app.runs.submit("sleepy", {"steps": 1}, "ann")).status == "succeeded"
    set_group(app, "A", max_run_s=2.0)
    try:
        run_id = app.runs.submit("sleepy", {"steps": 100, "step_s": 0.1}, "ann")  # 10 s
        row = finished(app, run_id)
    finally:
        set_group(app, "A", max_run_s=None)
    assert row.status == "timed_out"
    assert row.error.startswith("Stopped after 2 s: runs in this group may take at most 2 s")
    took_s = (row.finished_at - row.started_at).total_seconds()
    print(f"\ncapped at 2 s, recorded timed_out after {took_s:.2f} s (grace {GRACE_S:g} s)")
    assert 2.0 <= took_s < 2.0 + GRACE_S + 10, "generous upper bound: only guards against a hang"


def test_a_run_that_never_reports_progress_is_killed_after_the_grace_period(app):
    set_group(app, "A", max_run_s=1.0)
    try:
        row = finished(app, app.runs.submit("spin", {}, "bob"))
    finally:
        set_group(app, "A", max_run_s=None)
    assert row.status == "timed_out" and "at most 1 s" in row.error
