"""Background jobs on APScheduler: no job waits for another, none overlaps itself, stops clean."""

from __future__ import annotations

import logging
import threading

import pytest

from core.jobs import Job, start_jobs, stop_jobs

WAIT_S = 10.0


def test_a_job_blocked_in_its_run_does_not_delay_another_job():
    blocked = threading.Event()
    release = threading.Event()
    ticks = threading.Semaphore(0)

    def stuck() -> None:
        blocked.set()
        release.wait(WAIT_S)

    scheduler = start_jobs(
        [Job("stuck", stuck, 0.01, run_at_start=True), Job("ticking", ticks.release, 0.01)]
    )
    try:
        assert blocked.wait(WAIT_S)
        for _ in range(5):
            assert ticks.acquire(timeout=WAIT_S), "the other job stopped while one was blocked"
    finally:
        release.set()
        stop_jobs(scheduler)


def test_the_pool_has_a_thread_for_each_job():
    all_in = threading.Event()
    started = threading.Barrier(3, action=all_in.set, timeout=WAIT_S)
    release = threading.Event()

    def hold() -> None:
        started.wait()
        release.wait(WAIT_S)

    jobs = [Job(f"job-{n}", hold, 60, run_at_start=True) for n in range(3)]
    scheduler = start_jobs(jobs)
    try:
        # The barrier opens only while all three run at once.
        assert all_in.wait(WAIT_S), "the jobs did not all get a pool thread"
    finally:
        release.set()
        stop_jobs(scheduler)


def test_an_overrun_never_overlaps_and_the_skipped_ticks_are_logged(caplog):
    entered = threading.Event()
    release = threading.Event()
    second_run = threading.Event()
    active: list[int] = []
    overlapped: list[bool] = []
    calls: list[int] = []

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

    caplog.set_level(logging.WARNING, logger="apscheduler")
    scheduler = start_jobs([Job("slow", job, 0.05, run_at_start=True)])
    try:
        assert entered.wait(WAIT_S)
        # Hold the first run until a tick has come and been skipped, then let it go.
        for _ in range(int(WAIT_S / 0.05)):
            if "maximum number of running instances" in caplog.text:
                break
            release.wait(0.05)
        release.set()
        assert second_run.wait(WAIT_S)
    finally:
        stop_jobs(scheduler)
    assert not any(overlapped)
    assert 'Execution of job "slow' in caplog.text
    assert "skipped: maximum number of running instances reached (1)" in caplog.text


def test_a_failing_run_is_one_logged_line_and_the_job_runs_again(caplog):
    runs = threading.Semaphore(0)

    def failing() -> None:
        runs.release()
        raise RuntimeError("database away")

    caplog.set_level(logging.WARNING)
    scheduler = start_jobs([Job("flaky", failing, 0.01, run_at_start=True)])
    try:
        assert runs.acquire(timeout=WAIT_S)
        assert runs.acquire(timeout=WAIT_S)
    finally:
        stop_jobs(scheduler)
    failures = [r for r in caplog.records if "background job flaky failed" in r.getMessage()]
    assert failures and not any(r.exc_info for r in failures)
    assert "RuntimeError: database away" in failures[0].getMessage()


def test_stop_waits_for_the_run_in_progress_and_nothing_runs_or_fails_after(caplog):
    entered = threading.Event()
    release = threading.Event()
    finished = threading.Event()
    after: list[int] = []

    def job() -> None:
        if finished.is_set():
            after.append(1)
        entered.set()
        release.wait(WAIT_S)
        finished.set()

    caplog.set_level(logging.DEBUG, logger="apscheduler")
    scheduler = start_jobs([Job("writer", job, 0.01, run_at_start=True)])
    assert entered.wait(WAIT_S)
    stopper = threading.Thread(target=stop_jobs, args=(scheduler,))
    stopper.start()
    stopper.join(0.2)
    assert stopper.is_alive(), "stop returned while a run was still in progress"
    release.set()
    stopper.join(WAIT_S)
    assert not stopper.is_alive()
    assert finished.is_set()
    assert after == []
    assert not scheduler.running
    stop_jobs(scheduler)  # a second stop (atexit after the lifespan) is harmless
    assert "cannot schedule new futures" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_job_needs_a_positive_interval_and_a_unique_id():
    with pytest.raises(ValueError, match="positive interval"):
        Job("never", lambda: None, 0)
    with pytest.raises(ValueError, match="same id"):
        start_jobs([Job("once", lambda: None, 1), Job("once", lambda: None, 1)])
