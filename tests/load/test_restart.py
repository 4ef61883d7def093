"""A server stop records its running run and keeps its queue; a restart runs the queue at once.

No page is opened in these tests: the server starts Taskgate's services in its
lifespan, before any visitor (core/ui/server.py).
"""

from __future__ import annotations

import signal

import pytest

from core.runs.sentences import SERVER_STOPPED
from db.engine import dispose_engines
from tests.support.durable import log_tracebacks, run_service, wait_for_runs
from tests.support.server import stopped_cleanly, streamlit_server

pytestmark = pytest.mark.timeout(900)

LONG = {"steps": 4000, "step_s": 0.05}
SHORT = {"steps": 3, "step_s": 0.05}
CTRL_C_STOPS = 10


def _worker_tasks(server_env: dict[str, str]) -> dict[str, str]:
    return {**server_env, "TASKGATE_TASK_MODULES": "tests.support.worker_tasks"}


def test_sigterm_with_one_running_and_three_queued_then_a_restart_with_no_page_opened(
    server_env, tmp_path, monkeypatch
):
    env = _worker_tasks(server_env)
    url = env["TASKGATE_DATABASE_URL"]
    with streamlit_server(tmp_path, env) as server:
        service = run_service(url, monkeypatch)
        running = service.submit("sleepy", LONG, "ann")
        wait_for_runs(url, lambda rows: rows[running].status == "running", "a running run")
        queued = [service.submit("sleepy", SHORT, f"person{i}") for i in range(3)]
        # Group A's one slot is held: all three wait in the queue, granted to nobody. The
        # stop must leave them there, in their order.
        rows = wait_for_runs(url, lambda rows: True, "rows")
        assert [(rows[i].status, rows[i].worker_id) for i in queued] == [("queued", None)] * 3
    assert stopped_cleanly(server.process.returncode, signal.SIGTERM), server.log()
    assert log_tracebacks(server.log()) == []
    assert "terminate called" not in server.log()
    rows = wait_for_runs(url, lambda rows: True, "rows")
    assert (rows[running].status, rows[running].error) == ("lost", SERVER_STOPPED)
    assert [(rows[i].status, rows[i].worker_id) for i in queued] == [("queued", None)] * 3
    assert not [row for row in rows.values() if row.status == "running"]

    with streamlit_server(tmp_path, env) as server:  # and no page is opened
        rows = wait_for_runs(
            url, lambda rows: all(rows[i].status == "succeeded" for i in queued), "the queue run"
        )
    starts = [rows[i].started_at for i in queued]
    assert starts == sorted(starts), "the queue ran in its original order"
    assert log_tracebacks(server.log()) == []
    assert not [row for row in rows.values() if row.status in ("running", "queued")]
    dispose_engines()


def test_ten_ctrl_c_stops_with_runs_running_and_queued_print_no_traceback(
    server_env, tmp_path, monkeypatch
):
    env = {**_worker_tasks(server_env), "TASKGATE_SAMPLE_INTERVAL_S": "0.05"}
    url = env["TASKGATE_DATABASE_URL"]
    service = run_service(url, monkeypatch)
    tracebacks: list[str] = []
    for stop in range(CTRL_C_STOPS):
        with streamlit_server(tmp_path, env, stop_signal=signal.SIGINT) as server:
            running = service.submit("sleepy", LONG, f"ann{stop}")
            queued = [service.submit("sleepy", SHORT, f"bob{stop}-{i}") for i in range(2)]
            wait_for_runs(
                url, lambda rows, run=running: rows[run].status == "running", "a running run"
            )
        log = server.log()
        assert stopped_cleanly(server.process.returncode, signal.SIGINT), f"{stop + 1}:\n{log}"
        tracebacks += log_tracebacks(log)
        rows = wait_for_runs(url, lambda rows: True, "rows")
        assert rows[running].status in ("lost", "succeeded"), f"stop {stop + 1}"
        assert {rows[i].status for i in queued} <= {"queued", "succeeded"}, f"stop {stop + 1}"
        assert not [row for row in rows.values() if row.status == "running"], f"stop {stop + 1}"
        # The short runs left queued run first at the next start, then that stop's long one.
    dispose_engines()
    assert tracebacks == [], f"{len(tracebacks)} tracebacks in {CTRL_C_STOPS} stops"
