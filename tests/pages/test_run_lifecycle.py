"""A run's life on a task page: abandoned waits, refusals, failures, told in one sentence."""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest
from sqlmodel import Session, select

from core.tasks import registry
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
from tests.support.apptest import page_text, switch_to

HOLD_TIMEOUT_S = 30


class SlotHolder:
    """Holds one slot of a group from a plain thread until told to let go."""

    def __init__(self, limiter, group: str, owner: str = "holder") -> None:
        self._limiter = limiter
        self._group = group
        self._owner = owner
        self.holding = threading.Event()
        self.release = threading.Event()
        self._thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        with self._limiter.slot(self._group, owner=self._owner, task="hold"):
            self.holding.set()
            self.release.wait(HOLD_TIMEOUT_S)

    def __enter__(self) -> SlotHolder:
        self._thread.start()
        assert self.holding.wait(5), "the holder never got its slot"
        return self

    def __exit__(self, *exc_info) -> None:
        self.release.set()
        self._thread.join(5)


def _set_group(app, name: str, **settings) -> None:
    """Edit a group's row as the admin page would, and apply it to the limiter now."""
    with Session(app.engine) as session:
        row = session.exec(select(ConcurrencyGroup).where(ConcurrencyGroup.name == name)).one()
        for key, value in settings.items():
            setattr(row, key, value)
        row.version += 1
        session.add(row)
        session.commit()
    app.groups.refresh()


def test_a_wait_the_script_abandons_leaves_the_queue_and_is_recorded_cancelled(apptest_app):
    at = open_page(TASK_PAGES["matmul"])
    app = started_app()
    fill_form(at, "matmul", SMALL_SETTINGS["matmul"])
    with SlotHolder(app.limiter, "A"):
        (run,) = [button for button in at.button if button.label == "Run"]
        run.click()
        # AppTest stops a script run that outlives its timeout and joins its thread
        # without a limit: a wait that did not poll for the stop would hang here.
        with pytest.raises(RuntimeError, match="timed out"):
            at.run(timeout=3)
        stopped_at = time.time()
        assert app.limiter.snapshot()["A"].queued == 0
        mine = [row for row in recorded_runs(app) if row.task == "matmul"]
        assert [(row.status, row.started_at) for row in mine] == [("cancelled", None)]
        assert mine[0].finished_at.timestamp() <= stopped_at
    at.run()
    assert not at.exception, at.exception
    assert [info.value for info in at.info] == [
        plain("The run was cancelled because the page was left or reloaded before it finished.")
    ]
    assert not at.metric, "a cancelled run must not start again by itself"


def test_a_full_queue_is_one_sentence_and_nothing_runs(apptest_app):
    at = open_page(TASK_PAGES["matmul"])
    app = started_app()
    _set_group(app, "A", max_queue=0)
    fill_form(at, "matmul", SMALL_SETTINGS["matmul"])
    with SlotHolder(app.limiter, "A"):
        at = press_run(at)
    assert not at.exception, at.exception
    assert [warning.value for warning in at.warning] == [
        plain("Group A is busy and does not queue requests; try again shortly.")
    ]
    mine = [row for row in recorded_runs(app) if row.task == "matmul"]
    assert [(row.status, row.started_at) for row in mine] == [("rejected", None)]


def test_a_per_person_cap_is_one_sentence(apptest_app):
    at = open_page(TASK_PAGES["matmul"])
    app = started_app()
    _set_group(app, "A", per_owner_limit=1)
    fill_form(at, "matmul", SMALL_SETTINGS["matmul"])
    with SlotHolder(app.limiter, "A", owner=at.session_state["taskgate.guest"]):
        at = press_run(at)
    assert not at.exception, at.exception
    assert [warning.value for warning in at.warning] == [
        plain("You already have 1 run queued or running in group A (the cap per person).")
    ]


def test_a_failing_task_is_one_sentence_without_a_traceback(apptest_app, monkeypatch):
    def fail(params, progress, device):
        progress(0.0, "about to fail")
        raise RuntimeError("CUDA error: an illegal memory access\nTraceback (most recent call)")

    spec = registry.get("matmul")
    monkeypatch.setitem(registry.tasks(), "matmul", dataclasses.replace(spec, fn=fail))
    at = open_page(TASK_PAGES["matmul"])
    fill_form(at, "matmul", SMALL_SETTINGS["matmul"])
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


def test_a_task_whose_group_is_missing_creates_it_with_the_default_limit(apptest_app):
    at = open_page("pages/home.py")
    app = started_app()
    with Session(app.engine) as session:
        group = session.exec(select(ConcurrencyGroup).where(ConcurrencyGroup.name == "B")).one()
        # As for a task discovered after start-up: no assignment, its default group missing.
        for row in session.exec(select(TaskGroup).where(TaskGroup.group_id == group.id)).all():
            session.delete(row)
        session.flush()
        session.delete(group)
        session.commit()
    app.groups.refresh()
    at.run()
    assert "Group **B** · created with the default limit on its first run" in page_text(at)
    switch_to(at, TASK_PAGES["fractal"]).run()
    fill_form(at, "fractal", SMALL_SETTINGS["fractal"])
    at = press_run(at)
    assert not at.exception and not at.error, page_text(at)
    assert app.recorder.flush(timeout_s=5)
    with Session(app.engine) as session:
        created = session.exec(select(ConcurrencyGroup).where(ConcurrencyGroup.name == "B")).one()
    assert created.limit == app.settings.default_limit
