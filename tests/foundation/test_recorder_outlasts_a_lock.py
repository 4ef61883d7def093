"""The run recorder keeps every event through a SQLite lock longer than its busy timeout.

Another process holds the database's write lock (``BEGIN EXCLUSIVE``) for
far longer than the recorder's connections wait for it. The mechanism is
the one a 30 s lock meets with the app's 10 s busy timeout; here the busy
timeout is 0.2 s and the lock 3 s, which keeps the test short: every write
during the lock fails with "database is locked", and nothing may be lost.
"""

from __future__ import annotations

import logging
import subprocess
import sys

from sqlalchemy import create_engine
from sqlmodel import Session, select

from core.limiter import GroupConfig, Limiter
from core.runs import RunRecorder
from db.engine import sqlite_path
from db.models import TaskRun

BUSY_TIMEOUT_S = 0.2
LOCK_S = 3.0
RUNS = 50

_HOLD_THE_LOCK = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("COMMIT")
"""


def test_events_recorded_during_a_long_lock_are_all_written_afterwards(sqlite_url, caplog):
    engine = create_engine(
        sqlite_url, connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False}
    )
    recorder = RunRecorder(engine, flush_interval_s=0.05)
    limiter = Limiter(events=recorder)
    limiter.configure(GroupConfig(name="A", limit=4))
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_THE_LOCK, str(sqlite_path(sqlite_url)), str(LOCK_S)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        caplog.set_level(logging.WARNING, logger="core.runs")
        assert holder.stdout.readline() == "locked\n"
        for index in range(RUNS):
            with limiter.slot("A", owner=f"user{index}"):
                pass
        assert holder.wait(LOCK_S + 60) == 0
        assert recorder.flush(60), "the recorder never caught up after the lock"
    finally:
        holder.kill()
        recorder.close()
        engine.dispose()
    with Session(create_engine(sqlite_url)) as session:
        rows = session.exec(select(TaskRun)).all()
    assert len(rows) == RUNS
    assert {row.status for row in rows} == {"succeeded"}
    assert any("not record" in message and "yet" in message for message in caplog.messages), (
        "the lock never got in the recorder's way, so this test showed nothing"
    )
