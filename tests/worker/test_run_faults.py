"""What the database's troubles do to runs: retried, never a wrong final status.

A transient error (a dropped PostgreSQL connection, SQLite's "database is
locked") while a run is marked running or finished is retried, not turned
into a failure; a run whose body finished keeps its result while its lease
holds, however long another process locks the database; and nothing is
recorded ``cancelled`` that nobody cancelled. Real App, real worker
processes, a real SQLite file locked by a real second connection.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from sqlalchemy.exc import OperationalError

from core.runs import sql
from db.engine import SQLITE_BUSY_TIMEOUT_MS
from tests.worker.support import WAIT_S, finished, result_of, running


class _FailOnce:
    """Wraps an SQL function so that its first call fails as a dropped connection would."""

    def __init__(self, fn) -> None:
        self.fn = fn
        self.failed = 0

    def __call__(self, *args, **kwargs):
        if not self.failed:
            self.failed += 1
            raise OperationalError("UPDATE task_run", {}, Exception("server closed the connection"))
        return self.fn(*args, **kwargs)


def test_a_transient_error_marking_a_run_running_or_finished_is_retried(app, monkeypatch):
    start, finish = _FailOnce(sql.mark_running), _FailOnce(sql.finish)
    monkeypatch.setattr(sql, "mark_running", start)
    monkeypatch.setattr(sql, "finish", finish)
    row = finished(app, app.runs.submit("sleepy", {"steps": 2, "step_s": 0.01}, "ann"))
    assert (start.failed, finish.failed) == (1, 1), "each write failed once"
    assert (row.status, row.error) == ("succeeded", None)
    assert result_of(app, row.id)["steps"] == 2


def _database_file(app) -> str:
    database = app.engine.url.database
    assert database, "an SQLite file"
    return database


def test_a_run_that_finished_under_a_long_lock_keeps_its_result_and_the_next_runs(
    app, tmp_path: Path
):
    log = tmp_path / "first.log"
    first = app.runs.submit("sleepy", {"steps": 20, "step_s": 0.05, "log": str(log)}, "ann")
    second = app.runs.submit("sleepy", {"steps": 1, "step_s": 0.01}, "bob")
    running(app, first)
    locker = sqlite3.connect(_database_file(app), timeout=WAIT_S, isolation_level=None)
    try:
        locker.execute("BEGIN EXCLUSIVE")  # another process's long write transaction
        ended = threading.Event()

        def body_ended() -> None:  # the body writes "stopped" when it returns
            while not ended.wait(0.05):
                if log.exists() and "stopped" in log.read_text():
                    ended.set()

        watcher = threading.Thread(target=body_ended, daemon=True)
        watcher.start()
        assert ended.wait(WAIT_S), "the first run's body never ended"
        # Held past the busy timeout, so the end's write fails at least once.
        threading.Event().wait(SQLITE_BUSY_TIMEOUT_MS / 1000 + 1.0)
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    row = finished(app, first)
    assert (row.status, row.error) == ("succeeded", None)
    assert result_of(app, first)["steps"] == 20, "its result was written, not thrown away"
    after = finished(app, second)
    assert (after.status, after.error) == ("succeeded", None), "nothing cancelled by itself"
