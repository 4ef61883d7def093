"""A server stop records its running run and keeps its queue: after a restart the queued runs
run in their original order, and no row is left running."""

from __future__ import annotations

import pytest

from core.runs.sentences import SERVER_STOPPED
from db.engine import dispose_engines
from tests.support.browser import wait_for_app_idle
from tests.support.durable import log_tracebacks, run_service, wait_for_runs
from tests.support.server import streamlit_server

pytestmark = pytest.mark.browser

LONG = {"steps": 4000, "step_s": 0.05}
SHORT = {"steps": 3, "step_s": 0.05}


def _start_app(browser, server) -> None:
    """Streamlit runs no code before the first session: a visit starts the App."""
    page = browser.new_context().new_page()
    page.goto(server.url)
    wait_for_app_idle(page, timeout_ms=60_000)
    page.context.close()


def test_sigterm_with_one_running_and_three_queued_then_a_restart(
    browser, server_env, tmp_path, monkeypatch
):
    env = {**server_env, "TASKGATE_TASK_MODULES": "tests.support.worker_tasks"}
    url = env["TASKGATE_DATABASE_URL"]
    with streamlit_server(tmp_path, env) as server:
        _start_app(browser, server)
        service = run_service(url, monkeypatch)
        running = service.submit("sleepy", LONG, "ann")
        wait_for_runs(url, lambda rows: rows[running].status == "running", "a running run")
        queued = [service.submit("sleepy", SHORT, f"person{i}") for i in range(3)]
        # Group A's one slot is held: all three wait in the queue, granted to nobody (no
        # look-ahead claims). The stop must leave them there, in their order.
        rows = wait_for_runs(url, lambda rows: True, "rows")
        assert [(rows[i].status, rows[i].worker_id) for i in queued] == [("queued", None)] * 3
    assert server.process.returncode == 0, server.log()
    assert log_tracebacks(server.log()) == []
    assert "terminate called" not in server.log()
    rows = wait_for_runs(url, lambda rows: True, "rows")
    assert (rows[running].status, rows[running].error) == ("lost", SERVER_STOPPED)
    assert [(rows[i].status, rows[i].worker_id) for i in queued] == [("queued", None)] * 3
    assert not [row for row in rows.values() if row.status == "running"]

    with streamlit_server(tmp_path, env) as server:
        _start_app(browser, server)
        rows = wait_for_runs(
            url, lambda rows: all(rows[i].status == "succeeded" for i in queued), "the queue run"
        )
    starts = [rows[i].started_at for i in queued]
    assert starts == sorted(starts), "the queue ran in its original order"
    assert log_tracebacks(server.log()) == []
    assert not [row for row in rows.values() if row.status in ("running", "queued")]
    dispose_engines()
