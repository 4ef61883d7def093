"""A task page and this person's runs of its task: no accidental duplicates, limits up front.

Under AppTest with TASKGATE_SINGLE_OWNER, so every AppTest session is the
same person (a reload or a second tab is a new AppTest). Group A is paused
where a run must stay queued. A page drawing active runs would then watch them
until AppTest gave up on the script run and showed nothing; here the watch
ends the script run (``st.stop()``) once the runs are drawn, as a person sees them.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import streamlit as st
from sqlmodel import Session, select

from core.run_watch import RunView, _LinePlaces, _placed
from core.ui import run_widget
from core.ui.run_widget import waiting_sentence
from db.models import TaskRun
from tests.pages.helpers import open_page, recorded_runs, started_app
from tests.support.apptest import page_text
from tests.worker.support import set_group as edit_group

OWNER = "alice@example.org"
MATMUL = {"n": 128, "dtype": "float32", "repeats": 3}


@pytest.fixture
def one_person(apptest_app, monkeypatch):
    monkeypatch.setenv("TASKGATE_SINGLE_OWNER", OWNER)
    monkeypatch.setattr(run_widget, "wait_for_change", lambda *args: st.stop())


def set_group(name: str, **settings) -> None:
    """The worker tests' edit of a group's row, on the App the page started."""
    edit_group(started_app(), name, **settings)


def buttons(at) -> list[str]:
    return [button.label for button in at.button]


def press(at, label: str):
    (button,) = [button for button in at.button if button.label == label]
    return button.click().run()


def test_the_page_says_the_group_s_limits_before_run_and_nothing_for_unset_ones(one_person):
    open_page("matmul")  # starts the App
    set_group("A", max_run_s=45.0, queue_timeout_s=8.0, per_owner_limit=2)
    text = page_text(open_page("matmul"))
    assert "Group A now: 0 of 1 running, nobody waits." in text
    assert "A run is stopped after 45.0 s of running (the run-time cap)." in text
    assert "A run that waits 8.0 s without a slot is withdrawn (the queue timeout)." in text
    assert "One person may have 2 runs queued or running in this group at once." in text
    plain_group = page_text(open_page("fractal"))  # group B: no caps set
    assert "Group B now: 0 of 1 running, nobody waits." in plain_group
    for unset in ("run-time cap", "queue timeout", "One person may have"):
        assert unset not in plain_group


def test_an_active_run_replaces_run_with_cancel_and_run_another_that_asks_once(one_person):
    open_page("matmul")
    app = started_app()
    set_group("A", paused=True)
    first = app.runs.submit("matmul", MATMUL, OWNER)
    at = open_page("matmul")
    assert "Run" not in buttons(at) and "Run another" in buttons(at) and "Cancel" in buttons(at)
    assert "(position 1 of 1)" in page_text(at)

    at = press(at, "Run another")  # the first press only asks
    assert not at.exception, at.exception
    assert [run.id for run in recorded_runs(app)] == [first]
    assert "You already have 1 run of this task queued or running" in page_text(at)
    assert "Yes, run another" in buttons(at)

    # Confirmed at once with the same settings: the server sees a double-click.
    at = press(at, "Yes, run another")
    assert [run.id for run in recorded_runs(app)] == [first]
    assert "it was not started twice" in page_text(at)

    at.number_input(key="taskgate.form.matmul.n").set_value(256)
    at = press(at, "Run another")
    at = press(at, "Yes, run another")
    assert not at.exception, at.exception
    runs = recorded_runs(app)
    assert len(runs) == 2 and runs[1].params["n"] == 256
    text = page_text(at)
    # Both runs, newest first, each with its Cancel.
    assert buttons(at).count("Cancel") == 2
    # (the older run's count may still be the watcher's last look: it redraws within a look)
    assert text.index("(position 2 of 2)") < text.index("(position 1 of")
    assert text.index("Matrix size 256") < text.index("Matrix size 128")


def test_a_reloaded_page_s_form_holds_the_settings_of_the_run_it_shows(one_person):
    open_page("matmul")
    app = started_app()
    set_group("A", paused=True)
    app.runs.submit("matmul", {**MATMUL, "n": 80}, OWNER)
    at = open_page("matmul")  # a new session: a reload
    assert at.number_input(key="taskgate.form.matmul.n").value == 80
    with Session(app.engine) as session:
        assert session.exec(select(TaskRun.params)).one()["n"] == 80


def test_a_paused_group_with_a_queue_timeout_says_the_run_may_be_withdrawn(one_person):
    open_page("matmul")
    set_group("A", paused=True, queue_timeout_s=30.0)
    started_app().runs.submit("matmul", MATMUL, OWNER)
    text = page_text(open_page("matmul"))
    assert (
        "you keep your place (position 1 of 1) but may be withdrawn at the queue timeout (30 s)"
        in text
    )


def _queued(**changes) -> RunView:
    return RunView(
        id="r1",
        task="matmul",
        group="A",
        owner=OWNER,
        status="queued",
        params={},
        enqueued_at=datetime.now(UTC),
        started_at=None,
        finished_at=None,
        progress_fraction=None,
        progress_message=None,
        device="",
        error=None,
        cancel_requested=False,
        **changes,
    )


def test_a_run_the_line_was_read_without_still_counts_itself():
    places = {"a": _LinePlaces({}, [10.0], False)}
    view = _placed(_queued(), places, datetime.now(UTC))
    assert (view.position, view.queued) == (1, 1)
    assert "position 1 of 1, about 10 s" in waiting_sentence(view)


def test_a_queue_timeout_before_the_estimate_replaces_the_promise():
    places = {"a": _LinePlaces({"r1": 1}, [60.0, None], False, 8.0)}
    view = _placed(_queued(), places, datetime.now(UTC))
    assert view.timeout_first
    sentence = waiting_sentence(view)
    assert "may be withdrawn at the queue timeout (8 s)" in sentence and "about" not in sentence
    later = {"a": _LinePlaces({"r1": 1}, [5.0, None], False, 8.0)}
    assert "about 5 s" in waiting_sentence(_placed(_queued(), later, datetime.now(UTC)))


def test_the_admin_page_toasts_this_person_s_run_ending(one_person):
    import time

    open_page("pages/home.py")  # starts the App
    app = started_app()
    set_group("A", paused=True)
    run_id = app.runs.submit("matmul", MATMUL, OWNER)
    at = open_page("pages/admin.py")  # the first look notes the run
    assert not at.toast
    assert app.runs.cancel(run_id, "someone", OWNER)
    deadline = time.monotonic() + 60
    while not at.toast:
        assert time.monotonic() < deadline, "the cancelled run was never toasted"
        app.watcher.wait([run_id], {run_id: app.watcher.view(run_id).shown()}, 1.0)
        at.run()
    assert [t.value for t in at.toast] == ["Your Matrix-multiply benchmark run was cancelled."]
