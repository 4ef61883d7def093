"""A run's life seen from a task page: it outlives the script run; refusals and failures are
one sentence each."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from core.ui.wording import plain
from db.models import ConcurrencyGroup, TaskGroup
from tests.pages.helpers import (
    SMALL_SETTINGS,
    TASK_PAGES,
    fill_form,
    open_page,
    press_run,
    recorded_runs,
    started_app,
)
from tests.support.apptest import page_text
from tests.worker.support import finished, set_group


def _press_run_and_leave(at, timeout_s: float = 3) -> None:
    """Click Run; the page then watches the queued run until AppTest gives up on the script."""
    (run,) = [button for button in at.button if button.label == "Run"]
    run.click()
    # AppTest stops a script run that outlives its timeout and joins its thread
    # without a limit: a watch that did not pass the stop check would hang here.
    with pytest.raises(RuntimeError, match="timed out"):
        at.run(timeout=timeout_s)


def test_a_run_outlives_the_script_run_that_requested_it_and_its_result_is_shown_later(
    apptest_app,
):
    at = open_page(TASK_PAGES["matmul"])
    app = started_app()
    set_group(app, "A", paused=True)
    fill_form(at, "matmul", SMALL_SETTINGS["matmul"])
    _press_run_and_leave(at)
    (run,) = recorded_runs(app)
    assert (run.status, run.owner) == ("queued", at.session_state["taskgate.guest"])
    set_group(app, "A", paused=False)
    assert finished(app, run.id).status == "succeeded"
    at.run()
    assert not at.exception, at.exception
    assert [metric.label for metric in at.metric][0] == "Best"


def test_a_full_queue_is_one_sentence_and_nothing_is_written(apptest_app):
    at = open_page(TASK_PAGES["matmul"])
    app = started_app()
    set_group(app, "A", paused=True, max_queue=0)
    fill_form(at, "matmul", SMALL_SETTINGS["matmul"])
    at = press_run(at)
    assert not at.exception, at.exception
    assert [warning.value for warning in at.warning] == [
        plain("Group A is busy and does not queue requests; try again shortly.")
    ]
    assert recorded_runs(app) == []


def test_a_per_person_cap_counts_runs_of_other_tasks_in_the_group(apptest_app):
    at = open_page(TASK_PAGES["matmul"])
    app = started_app()
    set_group(app, "A", paused=True, per_owner_limit=1)
    owner = at.session_state["taskgate.guest"]
    app.runs.submit("classifier", SMALL_SETTINGS["classifier"], owner)
    fill_form(at, "matmul", SMALL_SETTINGS["matmul"])
    at = press_run(at)
    assert not at.exception, at.exception
    assert [warning.value for warning in at.warning] == [
        plain("You already have 1 run queued or running in group A (the cap per person).")
    ]
    assert [run.task for run in recorded_runs(app)] == ["classifier"]


def test_a_failing_task_is_one_sentence_without_a_traceback(apptest_app, monkeypatch):
    monkeypatch.setenv("TASKGATE_TASK_MODULES", "tests.support.worker_tasks")
    at = open_page("fail")  # its task raises a RuntimeError with a traceback-like message
    at = press_run(at)
    assert not at.exception, at.exception
    assert [error.value for error in at.error] == [
        plain("The task failed with RuntimeError: CUDA error: an illegal memory access.")
    ]
    assert "Traceback" not in page_text(at)
    (run,) = recorded_runs(started_app())
    assert run.status == "failed" and run.started_at is not None


def test_a_new_run_replaces_the_last_outcome(apptest_app):
    at = open_page(TASK_PAGES["matmul"])
    fill_form(at, "matmul", {"n": 4096})
    at = press_run(at)
    assert at.error
    fill_form(at, "matmul", SMALL_SETTINGS["matmul"])
    at = press_run(at)
    assert not at.error and [metric.label for metric in at.metric][0] == "Best"


def test_a_task_whose_group_was_removed_is_refused_with_a_sentence(apptest_app):
    at = open_page(TASK_PAGES["fractal"])
    app = started_app()
    with Session(app.engine) as session:
        group = session.exec(select(ConcurrencyGroup).where(ConcurrencyGroup.name == "B")).one()
        # As for a task discovered after start-up: no assignment, its default group missing.
        for row in session.exec(select(TaskGroup).where(TaskGroup.group_id == group.id)).all():
            session.delete(row)
        session.flush()
        session.delete(group)
        session.commit()
    app.admitter.wake()  # a direct SQL edit: the next decision sees it
    fill_form(at, "fractal", SMALL_SETTINGS["fractal"])
    at = press_run(at)
    assert not at.exception, at.exception
    assert [warning.value for warning in at.warning] == [
        plain("Group B does not exist (an admin may have removed it), so nothing runs.")
    ]
    assert recorded_runs(app) == []
