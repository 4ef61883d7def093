"""Background jobs: each on its own thread, never overlapping, late runs said in the log."""

from __future__ import annotations

import logging
import threading

import pytest

from core.scheduler import Scheduler

WAIT_S = 10.0


def test_a_job_blocked_in_its_run_does_not_delay_another_job():
    blocked = threading.Event()
    release = threading.Event()
    ticks = threading.Semaphore(0)

    def stuck() -> None:
        blocked.set()
        release.wait(WAIT_S)

    scheduler = Scheduler()
    scheduler.add("stuck", stuck, 0.01, run_at_start=True)
    scheduler.add("ticking", ticks.release, 0.01)
    scheduler.start()
    try:
        assert blocked.wait(WAIT_S)
        for _ in range(5):
            assert ticks.acquire(timeout=WAIT_S), "the other job stopped while one was blocked"
    finally:
        release.set()
        scheduler.shutdown()


def test_an_overrun_is_coalesced_into_one_run_and_logged_with_how_late(caplog):
    entered = threading.Event()
    release = threading.Event()
    second_run = threading.Event()
    active = []
    overlapped = []
    calls = []

    def job() -> None:
        overlapped.append(bool(active))
        active.append(1)
        calls.append(1)
        if len(calls) == 1:
            entered.set()
            release.wait(WAIT_S)
        else:
            second_run.set()
        active.pop()

    scheduler = Scheduler()
    running = scheduler.add("slow", job, 0.05, run_at_start=True)
    caplog.set_level(logging.WARNING, logger="core.scheduler")
    scheduler.start()
    try:
        assert entered.wait(WAIT_S)
        # Hold the first run for several intervals; the next run must say it was late.
        assert not second_run.wait(0.3)
        release.set()
        assert second_run.wait(WAIT_S)
    finally:
        scheduler.shutdown()
    assert not any(overlapped)
    assert running.stats.late_runs >= 1
    assert running.stats.worst_late_s > 0.05
    late = [record.getMessage() for record in caplog.records]
    assert any("slow ran" in line and "previous run took" in line for line in late)


def test_a_failing_run_is_logged_and_the_job_runs_again(caplog):
    runs = threading.Semaphore(0)

    def failing() -> None:
        runs.release()
        raise RuntimeError("database away")

    scheduler = Scheduler()
    job = scheduler.add("flaky", failing, 0.01, run_at_start=True)
    scheduler.start()
    try:
        assert runs.acquire(timeout=WAIT_S)
        assert runs.acquire(timeout=WAIT_S)
    finally:
        scheduler.shutdown()
    assert job.stats.failures >= 2
    assert "flaky failed" in caplog.text


def test_shutdown_waits_for_the_run_in_progress_and_nothing_runs_after():
    entered = threading.Event()
    release = threading.Event()
    finished = threading.Event()
    after = []

    def job() -> None:
        if finished.is_set():
            after.append(1)
        entered.set()
        release.wait(WAIT_S)
        finished.set()

    scheduler = Scheduler()
    scheduler.add("writer", job, 0.01, run_at_start=True)
    scheduler.start()
    assert entered.wait(WAIT_S)
    stopper = threading.Thread(target=scheduler.shutdown)
    stopper.start()
    stopper.join(0.2)
    assert stopper.is_alive(), "shutdown returned while a run was still in progress"
    release.set()
    stopper.join(WAIT_S)
    assert not stopper.is_alive()
    assert finished.is_set()
    assert after == []


def test_a_job_needs_a_positive_interval_and_a_unique_id():
    scheduler = Scheduler()
    with pytest.raises(ValueError, match="positive interval"):
        scheduler.add("never", lambda: None, 0)
    scheduler.add("once", lambda: None, 1)
    with pytest.raises(ValueError, match="already"):
        scheduler.add("once", lambda: None, 1)
