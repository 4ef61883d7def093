"""PostgreSQL connections killed under a running fleet: no request fails, every slot comes back.

A thread keeps killing the limiter's and the recorder's backends
(``pg_terminate_backend``, what a server restart or an admin does to them)
while four threads run short tasks through one group. Pools ping a
connection before handing it out, and a transaction that loses its
connection half-way is run again, so every request succeeds, every ticket
is given back and every run is recorded.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from sqlalchemy import create_engine, text

from core.limiter import GroupConfig
from core.runs import RunRecorder
from db.engine import create_db_engine
from tests.shared_limiter.support import shared_limiters

pytestmark = pytest.mark.postgres

THREADS = 4
RUNS_PER_THREAD = 15
KILL_EVERY_S = 0.2


def test_killed_backends_fail_no_request_and_leak_no_slot(postgres_url):
    name = f"taskgate_kill_{uuid.uuid4().hex[:8]}"
    url = f"{postgres_url}&application_name={name}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    stop = threading.Event()
    kills = 0

    def kill_backends() -> None:
        nonlocal kills
        with admin.connect() as connection:
            while not stop.is_set():
                killed = connection.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE application_name = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                ).scalar_one()
                kills += killed
                stop.wait(KILL_EVERY_S)

    recorder_engine = create_db_engine(url)
    recorder = RunRecorder(recorder_engine, flush_interval_s=0.05)
    errors: list[BaseException] = []
    with shared_limiters(url) as make:
        limiter = make(events=recorder)
        limiter.configure(GroupConfig(name="X", limit=2))

        def run_tasks(index: int) -> None:
            for number in range(RUNS_PER_THREAD):
                try:
                    with limiter.slot("X", owner=f"t{index}", task=f"run{number}"):
                        time.sleep(0.01)
                except BaseException as error:  # noqa: BLE001  (each one is the test's failure)
                    errors.append(error)

        killer = threading.Thread(target=kill_backends, daemon=True)
        killer.start()
        threads = [threading.Thread(target=run_tasks, args=(i,)) for i in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        stop.set()
        killer.join(10)
        assert errors == [], errors
        assert kills > 0, "no backend was killed, so this test showed nothing"
        snapshot = limiter.snapshot()["X"]
        assert (snapshot.running, snapshot.queued) == (0, 0)
        assert recorder.flush(60)
    recorder.close()
    recorder_engine.dispose()
    with admin.connect() as connection:
        search_path = postgres_url.split("search_path%3D")[1]
        connection.execute(text(f'SET search_path TO "{search_path}"'))
        tickets = connection.execute(text("SELECT count(*) FROM limiter_ticket")).scalar_one()
        statuses = connection.execute(
            text("SELECT status, count(*) FROM task_run GROUP BY status")
        ).all()
    admin.dispose()
    assert tickets == 0
    assert dict(statuses) == {"succeeded": THREADS * RUNS_PER_THREAD}
