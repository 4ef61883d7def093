"""Runs outlive the tab, seen through real browsers against a real server.

The server runs with TASKGATE_SINGLE_OWNER, so every browser session is the
same person (what sign-in will make of a real user): reloads, other pages,
second tabs and a new browser session all show that person's runs.
"""

from __future__ import annotations

import os
import re
import signal
import time
import urllib.request

import pytest
from sqlalchemy import update

from core.runs.sentences import CANCELLED_WHILE_RUNNING
from db.engine import get_engine
from db.models import ConcurrencyGroup
from tests.support.browser import wait_for_app_idle
from tests.support.durable import log_tracebacks, run_service, runs, wait_for_runs
from tests.support.server import streamlit_server

pytestmark = pytest.mark.browser

UI_TIMEOUT_MS = 60_000
QUICK = {"Matrix size": 128, "Repeats": 3}
PAUSED = re.compile(
    r"Group A is paused, so no run starts for now; you keep your place \(position 1 of 1\)"
)


@pytest.fixture
def durable_server(tmp_path, server_env, browser):
    env = {
        **server_env,
        "TASKGATE_SINGLE_OWNER": "alice@example.org",
        "TASKGATE_TASK_MODULES": "tests.support.worker_tasks",
        "TASKGATE_CANCEL_GRACE_S": "2",
    }
    with streamlit_server(tmp_path, env) as running:
        yield running
    assert log_tracebacks(running.log()) == []


def _set_paused(url: str, paused: bool) -> None:
    """What the admin page's pause and resume write; admitters see it at their next look."""
    table = ConcurrencyGroup.__table__
    with get_engine(url).begin() as connection:
        connection.execute(
            update(table)
            .where(table.c.name == "A")
            .values(paused=paused, version=table.c.version + 1)
        )


def _open(context, url: str):
    """A page that finishes its script run (not a task page watching an active run)."""
    page = context.new_page()
    page.goto(url)
    wait_for_app_idle(page, timeout_ms=UI_TIMEOUT_MS)
    return page


def test_a_run_is_the_same_run_after_a_reload_on_other_pages_and_in_a_new_session(
    durable_server, browser, server_env
):
    url = server_env["TASKGATE_DATABASE_URL"]
    base = durable_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    home = _open(context, base)  # starts the App
    _set_paused(url, True)
    # Home's live list shows the pause (read from the database, cached a moment).
    home.get_by_text(re.compile(r"· paused")).first.wait_for(timeout=UI_TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{base}/matmul")
    page.get_by_role("button", name="Run", exact=True).wait_for(timeout=UI_TIMEOUT_MS)
    for label, value in QUICK.items():
        page.get_by_role("spinbutton", name=label).fill(str(value))
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text(PAUSED).wait_for(timeout=UI_TIMEOUT_MS)
    (run,) = runs(url)

    page.reload()
    page.get_by_text(PAUSED).wait_for(timeout=UI_TIMEOUT_MS)
    page.goto(base)
    wait_for_app_idle(page, timeout_ms=UI_TIMEOUT_MS)
    page.goto(f"{base}/matmul")
    page.get_by_text(PAUSED).wait_for(timeout=UI_TIMEOUT_MS)
    second_tab = context.new_page()
    second_tab.goto(f"{base}/matmul")
    second_tab.get_by_text(PAUSED).wait_for(timeout=UI_TIMEOUT_MS)
    my_runs = context.new_page()
    my_runs.goto(f"{base}/my_runs")
    # The table is a canvas grid: its cells are in the DOM for assistive tech, not visible.
    my_runs.get_by_text("⏳ waiting · 1 of 1 (paused)").wait_for(
        state="attached", timeout=UI_TIMEOUT_MS
    )
    assert [row.id for row in runs(url)] == [run.id], "every view shows the one run"
    context.close()  # the person closes the browser

    _set_paused(url, False)
    rows = wait_for_runs(url, lambda rows: rows[run.id].status == "succeeded", "succeeded")
    assert rows[run.id].started_at is not None

    later = browser.new_context(viewport={"width": 1280, "height": 900})
    my_runs = _open(later, f"{base}/my_runs")
    my_runs.get_by_text("✅ succeeded").first.wait_for(state="attached", timeout=UI_TIMEOUT_MS)
    my_runs.get_by_role("combobox").first.click()  # "Open a finished run"
    my_runs.get_by_role("option").first.click()
    my_runs.get_by_text("Result", exact=True).wait_for(timeout=UI_TIMEOUT_MS)
    my_runs.locator('[data-testid="stMetric"]').first.wait_for(timeout=UI_TIMEOUT_MS)
    assert my_runs.locator('[data-testid="stException"]').count() == 0
    later.close()


def _healthy(base: str) -> bool:
    with urllib.request.urlopen(f"{base}/_stcore/health", timeout=5) as response:
        return response.read().decode().strip() == "ok"


def _child_pid(message: str) -> int:
    return int(re.search(r"pid (\d+)", message).group(1))


def test_a_task_that_never_reports_progress_is_killed_and_the_server_serves_throughout(
    durable_server, browser, server_env, monkeypatch
):
    url = server_env["TASKGATE_DATABASE_URL"]
    base = durable_server.url
    visitor = browser.new_context().new_page()
    visitor.goto(base)
    wait_for_app_idle(visitor, timeout_ms=UI_TIMEOUT_MS)
    service = run_service(url, monkeypatch)
    spinning = service.submit("spin", {}, "alice@example.org")
    wait_for_runs(url, lambda rows: rows[spinning].progress_message == "spinning", "spinning")
    waiting = service.submit("sleepy", {"steps": 2, "step_s": 0.05}, "alice@example.org")
    cancelled_at = time.time()
    assert service.cancel(spinning, "alice@example.org")
    while True:  # the web server answers while the worker process is being stopped
        assert _healthy(base)
        rows = {row.id: row for row in runs(url)}
        if rows[waiting].started_at is not None:
            break
        assert time.time() - cancelled_at < 60, "the next run never started"
        time.sleep(0.1)  # polling another process, not synchronising threads
    started_after_s = rows[waiting].started_at.timestamp() - cancelled_at
    print(f"\nnext run started {started_after_s:.2f} s after Cancel of a task that never reports "
          "progress (grace 2 s)")  # fmt: skip
    assert (rows[spinning].status, rows[spinning].error) == ("cancelled", CANCELLED_WHILE_RUNNING)
    visitor.reload()
    wait_for_app_idle(visitor, timeout_ms=UI_TIMEOUT_MS)
    assert visitor.get_by_text("Taskgate lets many people share one GPU").count() == 1
    wait_for_runs(url, lambda rows: rows[waiting].status == "succeeded", "the next run done")


def test_a_killed_worker_process_fails_its_run_and_the_next_run_starts(
    durable_server, browser, server_env, monkeypatch
):
    url = server_env["TASKGATE_DATABASE_URL"]
    base = durable_server.url
    visitor = browser.new_context().new_page()
    visitor.goto(base)
    wait_for_app_idle(visitor, timeout_ms=UI_TIMEOUT_MS)
    service = run_service(url, monkeypatch)
    doomed = service.submit("sleepy", {"steps": 4000, "step_s": 0.05}, "alice@example.org")
    rows = wait_for_runs(url, lambda rows: "pid" in (rows[doomed].progress_message or ""), "pid")
    following = service.submit("sleepy", {"steps": 2, "step_s": 0.05}, "alice@example.org")
    child = _child_pid(rows[doomed].progress_message)
    assert child != durable_server.process.pid
    os.kill(child, signal.SIGKILL)
    rows = wait_for_runs(url, lambda rows: rows[following].status == "succeeded", "next run")
    assert rows[doomed].status == "failed"
    assert rows[doomed].error.startswith("The process running the task was killed by signal 9")
    assert _healthy(base)
    visitor.reload()
    wait_for_app_idle(visitor, timeout_ms=UI_TIMEOUT_MS)
    assert visitor.locator('[data-testid="stException"]').count() == 0
