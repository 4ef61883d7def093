"""Several people share group A through real browsers: positions, Cancel, and closed tabs that
cancel nothing.

Each person is a separate browser context (its own Streamlit session and so
its own owner). Group A has its seeded limit of 1. What happened is read back
from ``task_run``, written by the server's run service and admitter.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from sqlmodel import Session, select

from core.runs.sentences import CANCELLED_WHILE_RUNNING, CANCELLED_WHILE_WAITING
from db.engine import get_engine
from db.models import TaskRun
from tests.support.browser import as_shown, wait_for_app_idle

# Three browser sessions and several runs: minutes on a small, busy CI machine.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]

SLOW = {"Matrix size": 2048, "Repeats": 100}
"""Tens of seconds on a small CPU, stopping between products every ~0.1-0.4 s."""
FINISHING = {"Matrix size": 1024, "Repeats": 30}
"""A few seconds here: long enough to queue behind, short enough to wait for."""
QUICK = {"Matrix size": 128, "Repeats": 3}

UI_TIMEOUT_MS = 60_000
DB_TIMEOUT_S = 60.0


def _open_matmul(browser, server):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{server.url}/matmul")
    wait_for_app_idle(page, timeout_ms=UI_TIMEOUT_MS)
    page.get_by_role("button", name="Run", exact=True).wait_for(timeout=UI_TIMEOUT_MS)
    return page


def _start(page, settings: dict[str, int]) -> None:
    for label, value in settings.items():
        page.get_by_role("spinbutton", name=label).fill(str(value))
    page.get_by_role("button", name="Run", exact=True).click()


def _waiting_at(page, position: int, queued: int) -> None:
    pattern = re.compile(f"Waiting for a slot in group A — position {position} of {queued}")
    page.get_by_text(pattern).wait_for(timeout=UI_TIMEOUT_MS)


def _running(page) -> None:
    page.locator('[data-testid="stProgress"]').wait_for(timeout=UI_TIMEOUT_MS)


def _runs(engine) -> list[TaskRun]:
    with Session(engine) as session:
        return list(session.exec(select(TaskRun).order_by(TaskRun.enqueued_at)).all())


def _wait_for_runs(engine, done: Callable[[list[TaskRun]], bool], what: str) -> list[TaskRun]:
    """Poll ``task_run`` (another process writes it) until ``done`` holds, with a bound."""
    deadline = time.monotonic() + DB_TIMEOUT_S
    while True:
        runs = _runs(engine)
        if done(runs):
            return runs
        if time.monotonic() > deadline:
            pytest.fail(f"task_run never showed {what}: {[(r.owner, r.status) for r in runs]}")
        time.sleep(0.05)  # polling another process's database, not synchronising threads


def test_a_closed_tab_keeps_its_place_and_its_run_starts_when_the_first_finishes(
    server, browser, server_env
):
    engine = get_engine(server_env["TASKGATE_DATABASE_URL"])
    first, second, third = (_open_matmul(browser, server) for _ in range(3))
    _start(first, FINISHING)
    _running(first)
    _start(second, QUICK)
    _waiting_at(second, 1, 1)
    _start(third, QUICK)
    _waiting_at(third, 2, 2)
    runs = _wait_for_runs(engine, lambda runs: len(runs) == 3, "three requests")
    first_id, second_id, third_id = (run.id for run in runs)

    second.context.close()  # the person leaves; their run stays theirs and keeps its place
    runs = {run.id: run for run in _wait_for_runs(
        engine, lambda runs: all(run.status == "succeeded" for run in runs), "all three done"
    )}  # fmt: skip
    assert runs[first_id].finished_at <= runs[second_id].started_at
    assert runs[second_id].finished_at <= runs[third_id].started_at
    first.get_by_text("Result", exact=True).wait_for(timeout=UI_TIMEOUT_MS)
    third.get_by_text("Result", exact=True).wait_for(timeout=UI_TIMEOUT_MS)
    for page in (first, third):
        assert page.locator('[data-testid="stException"]').count() == 0


def test_cancel_takes_a_wait_out_of_the_queue_and_stops_a_running_task(server, browser, server_env):
    engine = get_engine(server_env["TASKGATE_DATABASE_URL"])
    first = _open_matmul(browser, server)
    _start(first, SLOW)
    _running(first)
    second = _open_matmul(browser, server)
    _start(second, QUICK)
    _waiting_at(second, 1, 1)
    third = _open_matmul(browser, server)
    _start(third, QUICK)
    _waiting_at(third, 2, 2)

    third.get_by_role("button", name="Cancel").click()
    third.get_by_text(as_shown(CANCELLED_WHILE_WAITING)).wait_for(timeout=UI_TIMEOUT_MS)
    runs = _wait_for_runs(engine, lambda runs: runs[2].status == "cancelled", "a cancelled wait")
    assert runs[2].started_at is None
    _waiting_at(second, 1, 1)

    third.locator('[data-testid="stSidebarNav"]').get_by_text("Home", exact=True).click()
    wait_for_app_idle(third)
    _waiting_at(second, 1, 1)  # leaving a page cancels nothing

    first.get_by_role("button", name="Cancel").click()
    first.get_by_text(as_shown(CANCELLED_WHILE_RUNNING)).wait_for(timeout=UI_TIMEOUT_MS)
    runs = _wait_for_runs(
        engine, lambda runs: runs[1].status == "succeeded", "the next waiter succeeding"
    )
    assert runs[0].status == "cancelled" and runs[0].started_at is not None
    assert runs[0].finished_at <= runs[1].started_at
    second.get_by_text("Result", exact=True).wait_for(timeout=UI_TIMEOUT_MS)
    for page in (first, second, third):
        assert page.locator('[data-testid="stException"]').count() == 0
