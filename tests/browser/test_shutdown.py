"""A server stop loses nothing: a running and a queued request are both recorded cancelled."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from db.engine import dispose_engines, get_engine
from db.models import TaskRun
from tests.support.browser import visit_home, wait_for_app_idle
from tests.support.server import streamlit_server

pytestmark = pytest.mark.browser

UI_TIMEOUT_MS = 30_000


def _open(browser, url: str, path: str):
    page = browser.new_context().new_page()
    page.goto(f"{url}/{path}")
    wait_for_app_idle(page)
    return page


def test_sigterm_records_running_and_queued_requests_as_cancelled(browser, server_env, tmp_path):
    with streamlit_server(tmp_path, server_env) as server:
        visit_home(browser, server)  # see the ``server`` fixture in tests/conftest.py
        running = _open(browser, server.url, "matmul")
        running.get_by_role("spinbutton", name="Matrix size").fill("2048")
        running.get_by_role("spinbutton", name="Repeats").fill("100")
        running.get_by_role("button", name="Run", exact=True).click()
        running.locator('[data-testid="stProgress"]').wait_for(timeout=UI_TIMEOUT_MS)
        waiting = _open(browser, server.url, "classifier")
        waiting.get_by_role("button", name="Run", exact=True).click()
        waiting.get_by_text("Waiting for a slot in group A").wait_for(timeout=UI_TIMEOUT_MS)
    # Leaving the block sent SIGTERM and waited for the process to exit.
    assert server.process.returncode == 0, server.log()
    engine = get_engine(server_env["TASKGATE_DATABASE_URL"])
    try:
        with Session(engine) as session:
            runs = {run.task: run for run in session.exec(select(TaskRun)).all()}
    finally:
        dispose_engines()
    assert {task: run.status for task, run in runs.items()} == {
        "matmul": "cancelled",
        "classifier": "cancelled",
    }
    assert runs["matmul"].started_at is not None
    # Sessions stop in no set order: if the running one stops first, its slot is
    # handed to the queued one, which is then stopped too. Either way both end.
    assert all(run.finished_at is not None for run in runs.values())
