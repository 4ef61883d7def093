"""External ``python -m core.worker`` processes: a killed or frozen worker's run ends ``lost``.

Each test starts a web-server-like App without an executor of its own
(``TASKGATE_WORKERS=external``: it submits runs and sweeps leases) and real
worker processes, on SQLite and on PostgreSQL, with a short lease so the
tests are quick. Nothing here waits a fixed time to synchronise: each step
waits for the row, the process line or the log it needs, with a bound.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from core.app import start_app
from core.runs.sentences import FENCED, LEASE_LOST
from core.settings import Settings
from db.engine import dispose_engines, sqlite_path
from tests.support.database import sqlite_url
from tests.worker.support import TEST_TASKS, finished, run_row, running, wait_for

ROOT = Path(__file__).resolve().parents[2]
TTL_S = 6.0
LONG = {"steps": 2000, "step_s": 0.05}


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
    else:
        yield request.getfixturevalue("postgres_url")
    dispose_engines()


def _env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "TASKGATE_DATABASE_URL": url,
        "TASKGATE_LEASE_TTL_S": str(TTL_S),
        "TASKGATE_TASK_MODULES": TEST_TASKS,
        "TASKGATE_CANCEL_GRACE_S": "1",
    }


@pytest.fixture
def web(database_url, monkeypatch):
    """The web server's side: submits runs and sweeps leases, runs nothing itself."""
    monkeypatch.setenv("TASKGATE_TASK_MODULES", TEST_TASKS)  # submit looks the task up
    app = start_app(
        Settings(
            database_url=database_url,
            workers="external",
            lease_ttl_s=TTL_S,
            admin_password="letmein-letmein",
        )
    )
    yield app
    app.close()


@contextmanager
def worker(url: str, log_dir: Path, name: str) -> Iterator[subprocess.Popen]:
    """A ``python -m core.worker`` in its own process group, ready to claim runs."""
    log_path = log_dir / f"worker-{name}.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "core.worker", "--slots", "1"],
            cwd=ROOT, env=_env(url), stdout=subprocess.PIPE, stderr=log, text=True,
            start_new_session=True,
        )  # fmt: skip
    try:
        line = process.stdout.readline()  # bounded: the worker prints it or exits
        assert "serving every group" in line, log_path.read_text()
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        process.stdout.close()


def test_a_killed_worker_s_run_is_lost_within_the_lease_and_the_next_run_goes_on(
    web, database_url, tmp_path
):
    with worker(database_url, tmp_path, "a") as first:
        doomed = web.runs.submit("sleepy", LONG, "ann")
        running(web, doomed)
        following = web.runs.submit("sleepy", {"steps": 2, "step_s": 0.05}, "bob")
        killed_at = time.time()
        os.killpg(first.pid, signal.SIGKILL)
        row = wait_for(web, doomed, lambda row: row.status == "lost", "lost")
        detected_s = row.finished_at.timestamp() - killed_at
        print(f"\nkilled worker's run recorded lost {detected_s:.2f} s after SIGKILL "
              f"(lease TTL {TTL_S:g} s)")  # fmt: skip
        assert row.error in (LEASE_LOST,) or "stopped renewing its lease" in row.error
        assert detected_s < TTL_S + 10, "generous: a loaded machine sweeps late, but not never"
    with worker(database_url, tmp_path, "b"):
        assert finished(web, following).status == "succeeded"


def _freeze_between_transactions(url: str, pid: int) -> float:
    """SIGSTOP a worker's process group at a moment it holds no database lock; the time.

    A process frozen inside a write transaction blocks every other writer (on
    SQLite the whole database, on PostgreSQL the rows it locked) until it
    resumes, and then nobody can record its runs lost: a property of the
    databases, documented in docs/ARCHITECTURE.md. On SQLite the test takes
    the write lock first, freezes the worker and lets go (SQLite's locks are
    taken by the client, which is frozen). On PostgreSQL a statement the
    worker sent before the freeze still runs in its server process and can
    leave a transaction open, so the test freezes it, asks the server whether
    any of the worker's connections is inside a transaction, and if so lets
    it run a moment and tries again.
    """
    path = sqlite_path(url)
    if path is not None:
        connection = sqlite3.connect(path, isolation_level=None, timeout=60)
        try:
            connection.execute("BEGIN IMMEDIATE")
            os.killpg(pid, signal.SIGSTOP)
            frozen_at = time.time()
            connection.execute("ROLLBACK")
        finally:
            connection.close()
        return frozen_at
    engine = create_engine(url)
    try:
        for _ in range(200):
            os.killpg(pid, signal.SIGSTOP)
            frozen_at = time.time()
            with engine.connect() as connection:
                busy = connection.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE client_port = ANY(:ports) AND state <> 'idle'"
                    ),
                    {"ports": sorted(_tcp_ports(pid))},
                ).scalar()
            if not busy:
                return frozen_at
            os.killpg(pid, signal.SIGCONT)
            time.sleep(0.05)  # letting another process finish its transaction, not syncing
        pytest.fail("the worker was inside a transaction at every try")
    finally:
        engine.dispose()


def _tcp_ports(pid: int) -> set[int]:
    """The local TCP ports of the process's sockets (its database connections)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _log_times(path: Path, what: str) -> list[float]:
    if not path.exists():
        return []
    return [
        float(line.split()[1]) for line in path.read_text().splitlines() if line.startswith(what)
    ]


def test_a_frozen_worker_stops_its_task_at_the_first_step_after_it_resumes(
    web, database_url, tmp_path
):
    log = tmp_path / "frozen-task.log"
    # "b" starts once the run is held, so that the frozen worker is the one holding it;
    # the freeze comes once its task is at work (not while its process is still starting).
    with worker(database_url, tmp_path, "frozen") as frozen:
        held = web.runs.submit("sleepy", {**LONG, "step_s": 0.2, "log": str(log)}, "ann")
        first = wait_for(web, held, lambda row: "in pid" in (row.progress_message or ""), "at work")
        assert first.pid == frozen.pid
        assert str(frozen.pid) not in (first.progress_message or "")
        with worker(database_url, tmp_path, "b"):
            waiting = web.runs.submit("sleepy", {"steps": 40, "step_s": 0.05}, "bob")
            # The worker and its task process, as a VM pause would.
            stopped_at = _freeze_between_transactions(database_url, frozen.pid)
            row = wait_for(web, held, lambda row: row.status == "lost", "lost")
            took_over = running(web, waiting)
            resumed_at = time.time()
            os.killpg(frozen.pid, signal.SIGCONT)
            deadline = time.monotonic() + 60
            while not _log_times(log, "stopped"):
                assert time.monotonic() < deadline, "the resumed task never stopped"
                time.sleep(0.05)  # polling another process's file, not synchronising threads
            task_stopped_at = _log_times(log, "stopped")[0]
            next_started = took_over.started_at.timestamp()
            # Both runs executing at once: after the frozen one resumed, until it stopped.
            overlap_s = max(0.0, task_stopped_at - max(next_started, resumed_at))
            print(f"\n[{web.engine.dialect.name}] frozen {resumed_at - stopped_at:.2f} s; "
                  f"lost after {row.finished_at.timestamp() - stopped_at:.2f} s; next run started "
                  f"{next_started - stopped_at:.2f} s after the freeze; resumed task stopped "
                  f"{task_stopped_at - resumed_at:.3f} s after SIGCONT; "
                  f"overlap: {overlap_s:.3f} s")  # fmt: skip
            assert finished(web, waiting).status == "succeeded"
            final = run_row(web, held)
            assert (
                final.status == "lost"
                and final.error in (LEASE_LOST, FENCED)
                or ("stopped renewing its lease" in (final.error or ""))
            )
            work_after_resume = [t for t in _log_times(log, "work") if t > resumed_at]
            assert work_after_resume == [], "no step may begin after the worker resumed"
