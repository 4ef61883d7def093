"""Several people share group A through real browsers: positions, Cancel, leaving, closed tabs.

Each person is a separate browser context (its own Streamlit session and so
its own owner). Group A has its seeded limit of 1. What the limiter decided
is read back from ``task_run``, whose times come from the server's clock,
the same clock this test reads.

The tests assert what happens and in what order (a request leaves the queue
after the click that made it leave, the next waiter starts after the slot
was given back and never before). The only time bounds are generous ones
that catch a hang: CI runs on a loaded machine, and how fast a hand-over is
belongs in bench/, not here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime

import pytest
from sqlmodel import Session, select

from db.engine import get_engine
from db.models import TaskRun
from tests.support.browser import wait_for_app_idle

# Three browser sessions and several runs: minutes on a small, busy CI machine.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]

SLOW = {"Matrix size": 2048, "Repeats": 100}
"""Tens of seconds on a small CPU, stopping between products every ~0.1-0.4 s."""
FINISHING = {"Matrix size": 2048, "Repeats": 40}
"""Long enough (~5-10 s here) for two more people to queue behind it, short enough to wait for."""
QUICK = {"Matrix size": 128, "Repeats": 3}

UI_TIMEOUT_MS = 60_000
RUN_TIMEOUT_MS = 300_000  # FINISHING takes ~5-10 s here, minutes with the machine overloaded
DB_TIMEOUT_S = 30.0

HANG_S = 10.0
"""Longer than this between a click and what it causes is a hang, not a slow machine."""
CLOCK_SLACK_S = 0.01
"""The browser's clock reads whole milliseconds; the database stores microseconds."""


def _open_matmul(browser, server):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{server.url}/matmul")
    wait_for_app_idle(page)
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


def _click_timed(page, target) -> float:
    """Click ``target`` on ``page``; return when the browser dispatched the click (epoch s).

    Timed in the page rather than around Playwright's ``click``, which also
    spends time finding, scrolling to and checking the element.
    """
    page.evaluate(
        """() => document.addEventListener(
            "click", () => { window.clickedAt = Date.now(); }, {capture: true, once: true}
        )"""
    )
    target.click()
    return page.evaluate("() => window.clickedAt") / 1000


def _cancel(page) -> float:
    return _click_timed(page, page.get_by_role("button", name="Cancel"))


def _runs(engine) -> list[TaskRun]:
    with Session(engine) as session:
        return list(session.exec(select(TaskRun).order_by(TaskRun.enqueued_at)).all())


def _wait_for_runs(engine, done: Callable[[list[TaskRun]], bool], what: str) -> list[TaskRun]:
    """Poll ``task_run`` (written in the background, within ~0.5 s) until ``done`` holds."""
    deadline = time.monotonic() + DB_TIMEOUT_S
    while True:
        runs = _runs(engine)
        if done(runs):
            return runs
        if time.monotonic() > deadline:
            pytest.fail(f"task_run never showed {what}: {[(r.owner, r.status) for r in runs]}")
        time.sleep(0.05)  # polling another process's database, not synchronising threads


def _seconds(moment: datetime) -> float:
    return moment.timestamp()


def test_a_closed_tab_leaves_the_queue_and_the_next_waiter_starts_when_the_first_finishes(
    server, browser, server_env
):
    engine = get_engine(server_env["TASKGATE_DATABASE_URL"])
    # Pages load before anyone starts, so the first run only has to outlast a few clicks.
    first, second, third = (_open_matmul(browser, server) for _ in range(3))
    _start(first, FINISHING)
    _running(first)
    _start(second, QUICK)
    _waiting_at(second, 1, 1)
    _start(third, QUICK)
    _waiting_at(third, 2, 2)
    runs = _wait_for_runs(engine, lambda runs: len(runs) == 3, "three requests")
    first_id, second_id, third_id = (run.id for run in runs)

    closed_at = time.time()
    second.close()
    runs = _wait_for_runs(
        engine,
        lambda runs: runs[1].status == "cancelled",
        "the closed tab's request cancelled",
    )
    left = runs[1]
    assert left.id == second_id and left.started_at is None
    assert closed_at - CLOCK_SLACK_S <= _seconds(left.finished_at) < closed_at + HANG_S
    _waiting_at(third, 1, 1)  # moved up, and the first run still holds the only slot

    first.get_by_text("Result", exact=True).wait_for(timeout=RUN_TIMEOUT_MS)
    runs = {
        run.id: run
        for run in _wait_for_runs(
            engine, lambda runs: runs[2].started_at is not None, "the third request starting"
        )
    }
    finished, started = runs[first_id], runs[third_id]
    assert finished.status == "succeeded"
    # The slot went to the third only once the first gave it back, and it did not sit idle.
    assert 0 <= _seconds(started.started_at) - _seconds(finished.finished_at) < HANG_S
    assert _seconds(left.finished_at) <= _seconds(finished.finished_at)
    third.get_by_text("Result", exact=True).wait_for(timeout=UI_TIMEOUT_MS)
    assert runs[second_id].started_at is None
    for page in (first, third):
        assert page.locator('[data-testid="stException"]').count() == 0


def test_cancel_or_leaving_gives_up_a_wait_and_cancel_hands_a_running_slot_to_the_next(
    server, browser, server_env
):
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
    clicked_at = _cancel(third)
    third.get_by_text("You cancelled the run").wait_for(timeout=UI_TIMEOUT_MS)
    runs = _wait_for_runs(
        engine, lambda runs: len(runs) == 3 and runs[2].status == "cancelled", "a cancelled wait"
    )
    assert runs[2].started_at is None
    assert clicked_at - CLOCK_SLACK_S <= _seconds(runs[2].finished_at) < clicked_at + HANG_S

    _start(third, QUICK)
    _waiting_at(third, 2, 2)
    clicked_at = _click_timed(
        third, third.locator('[data-testid="stSidebarNav"]').get_by_text("Home", exact=True)
    )
    runs = _wait_for_runs(
        engine, lambda runs: len(runs) == 4 and runs[3].status == "cancelled", "a wait left behind"
    )
    assert runs[3].started_at is None
    assert clicked_at - CLOCK_SLACK_S <= _seconds(runs[3].finished_at) < clicked_at + HANG_S
    _waiting_at(second, 1, 1)

    clicked_at = _cancel(first)
    runs = _wait_for_runs(
        engine, lambda runs: runs[1].started_at is not None, "the next waiter starting"
    )
    assert clicked_at - CLOCK_SLACK_S <= _seconds(runs[1].started_at) < clicked_at + HANG_S
    first.get_by_text("You cancelled the run").wait_for(timeout=UI_TIMEOUT_MS)
    runs = _wait_for_runs(engine, lambda runs: runs[0].status == "cancelled", "the run cancelled")
    assert runs[0].started_at is not None
    # The second started only after the first let go of the only slot.
    assert _seconds(runs[0].finished_at) <= _seconds(runs[1].started_at)
    second.get_by_text("Result", exact=True).wait_for(timeout=UI_TIMEOUT_MS)
    for page in (first, second, third):
        assert page.locator('[data-testid="stException"]').count() == 0
