"""Two worker processes on two simulated hosts share one group's limit, in submission order.

The web side runs no tasks (TASKGATE_WORKERS=external): it submits through
the same service layer the pages use and watches the rows. Nothing waits a
fixed time: each step waits for the rows it needs, with a generous bound.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest

from core.runs.sentences import LEASE_LOST
from db.engine import dispose_engines
from tests.fleet.support import TTL_S, web_app, worker
from tests.support.database import sqlite_url
from tests.worker.support import TEST_TASKS, finished, run_row, running, set_group, wait_for

RUNS = 30
LIMIT = 2
SHORT = {"steps": 3, "step_s": 0.1}
LONG = {"steps": 2000, "step_s": 0.05}


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
    else:
        yield request.getfixturevalue("postgres_url")
    dispose_engines()


@pytest.fixture
def web(database_url, monkeypatch):
    monkeypatch.setenv("TASKGATE_TASK_MODULES", TEST_TASKS)  # submit looks the task up
    app = web_app(database_url)
    assert not app.admitter.executes, "the web side must run no tasks"
    yield app
    app.close()


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    """The largest number of [start, end] intervals that overlap at one instant."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    now = best = 0
    for _, step in edges:  # at equal times an end (-1) sorts first: touching is not overlap
        now += step
        best = max(best, now)
    return best


def test_thirty_runs_share_a_limit_of_two_across_two_workers_in_submission_order(
    web, database_url, tmp_path
):
    set_group(web, "A", limit=LIMIT)
    with (
        worker(database_url, tmp_path, "gpu-host-a", slots=2),
        worker(database_url, tmp_path, "gpu-host-b", slots=2),
    ):
        # A run number in the settings: one person's identical submits this close together
        # would be refused as double-clicks (DuplicateRun).
        ids = [web.runs.submit("sleepy", {**SHORT, "n": i}, f"user-{i % 3}") for i in range(RUNS)]
        rows = [finished(web, run_id) for run_id in ids]
    assert [row.status for row in rows] == ["succeeded"] * RUNS
    assert {row.host for row in rows} == {"gpu-host-a", "gpu-host-b"}
    assert all(row.pid > 0 and row.device for row in rows)
    intervals = [(row.started_at.timestamp(), row.finished_at.timestamp()) for row in rows]
    assert most_at_once(intervals) == LIMIT
    # Slots are granted in submission order; two granted together (a limit of 2) may write
    # their start a moment apart in either order, so order is checked LIMIT places apart.
    starts = [row.started_at for row in rows]
    late = [(i, j) for i in range(RUNS) for j in range(i + LIMIT, RUNS) if starts[j] < starts[i]]
    assert late == [], f"runs started before runs submitted {LIMIT} or more places earlier"


def test_a_killed_worker_s_run_is_lost_and_the_next_run_starts_on_the_other_worker(
    web, database_url, tmp_path
):
    set_group(web, "A", limit=1)
    with worker(database_url, tmp_path, "doomed-host") as doomed:
        held = web.runs.submit("sleepy", LONG, "ann")
        assert running(web, held).host == "doomed-host"
        with worker(database_url, tmp_path, "other-host"):
            following = web.runs.submit("sleepy", SHORT, "bob")
            killed_at = time.time()
            os.killpg(doomed.pid, signal.SIGKILL)
            lost = wait_for(web, held, lambda row: row.status == "lost", "lost")
            detected_s = lost.finished_at.timestamp() - killed_at
            print(f"\nkilled worker's run recorded lost {detected_s:.2f} s after SIGKILL "
                  f"(lease TTL {TTL_S:g} s)")  # fmt: skip
            assert (lost.error, lost.host) == (LEASE_LOST, "doomed-host")
            assert detected_s < TTL_S + 10, "generous: a loaded machine sweeps late, not never"
            done = finished(web, following)
    assert done.status == "succeeded" and done.host == "other-host"
    assert run_row(web, held).status == "lost"
