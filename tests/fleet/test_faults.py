"""The queue under faults: processes killed and frozen while they run and hold runs.

Two ``python -m core.worker`` processes on PostgreSQL share group A (limit 2)
with 60 runs of a task that writes its own step times (``sleepy`` with a
``log``). One worker is SIGKILLed mid-run and replaced; the other is
SIGSTOPped past its lease and resumed. From the bodies' own timestamps and
the rows: never more than 2 bodies executing at once, no run granted before
one submitted ahead of it, every run ended with a final status, the killed
worker's run ``lost`` (with its ``--host`` label) and the frozen one's too,
only runs whose bodies ran were lost, and nothing cancelled or failed. Each
step waits for the rows it needs, with generous bounds; nothing is timed.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from core.runs.sentences import LEASE_LOST
from db.engine import dispose_engines
from db.models import FINISHED_STATUSES
from tests.fleet.support import web_app, worker
from tests.worker.support import TEST_TASKS, WAIT_S, finished, run_row, set_group, wait_for

pytestmark = pytest.mark.timeout(600)  # three workers start torch on a loaded machine

RUNS = 60
LIMIT = 2
STEP_S = 0.05


def _steps(log: Path) -> list[tuple[float, float]]:
    """When the body executed: each step from its start, ``STEP_S`` long (its own clock)."""
    if not log.exists():
        return []
    lines = [line.split() for line in log.read_text().splitlines()]
    return [(float(t), float(t) + STEP_S) for what, t in lines if what == "work"]


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    now = best = 0
    for _, step in edges:  # an end sorts before a start at the same instant
        now += step
        best = max(best, now)
    return best


def _running_on(web, ids: list[str], host: str) -> str:
    def found():
        for run_id in ids:
            row = run_row(web, run_id)
            if row.status == "running" and row.host == host and row.progress_fraction:
                return run_id
        return None

    deadline = time.monotonic() + WAIT_S
    while (run_id := found()) is None:
        assert time.monotonic() < deadline, f"no run of {host} got going"
        time.sleep(0.05)  # polling other processes' rows, not synchronising threads
    return run_id


def test_sixty_runs_survive_a_killed_and_a_frozen_worker_within_limit_and_order(
    postgres_url, tmp_path, monkeypatch
):
    monkeypatch.setenv("TASKGATE_TASK_MODULES", TEST_TASKS)
    web = web_app(postgres_url)
    try:
        set_group(web, "A", limit=LIMIT)
        logs = [tmp_path / f"run-{i}.log" for i in range(RUNS)]
        params = [{"steps": 8, "step_s": STEP_S, "log": str(log)} for log in logs]
        with (
            worker(postgres_url, tmp_path, "host-a") as doomed,
            worker(postgres_url, tmp_path, "host-b") as frozen,
        ):
            ids = [web.runs.submit("sleepy", p, f"user-{i % 4}") for i, p in enumerate(params)]
            killed = _running_on(web, ids, "host-a")
            os.killpg(doomed.pid, signal.SIGKILL)
            with worker(postgres_url, tmp_path, "host-c", slots=2):
                stopped = _running_on(web, ids, "host-b")
                os.killpg(frozen.pid, signal.SIGSTOP)
                try:
                    wait_for(web, stopped, lambda row: row.status == "lost", "lost while frozen")
                finally:  # a frozen process would outlive a failed test
                    os.killpg(frozen.pid, signal.SIGCONT)
                rows = [finished(web, run_id) for run_id in ids]
    finally:
        web.close()
        dispose_engines()

    assert all(row.status in FINISHED_STATUSES for row in rows)
    by_id = {row.id: row for row in rows}
    assert (by_id[killed].status, by_id[killed].error, by_id[killed].host) == (
        "lost",
        LEASE_LOST,
        "host-a",
    )
    assert by_id[stopped].status == "lost"
    lost = [row for row in rows if row.status == "lost"]
    assert {row.host for row in lost} <= {"host-a", "host-b"}, "only runs that were executing"
    assert all(_steps(log) for log, row in zip(logs, rows, strict=True) if row.status == "lost")
    others = [row.status for row in rows if row.status != "lost"]
    assert others == ["succeeded"] * len(others), "nothing cancelled or failed"

    steps = [step for log in logs for step in _steps(log)]
    assert most_at_once(steps) <= LIMIT, "never more bodies executing than the limit"

    granted = [row.granted_at for row in rows]  # submission order
    inversions = [
        (i, j) for i in range(RUNS) for j in range(i + 1, RUNS) if granted[j] < granted[i]
    ]
    assert inversions == [], "a run was granted before one submitted ahead of it"
