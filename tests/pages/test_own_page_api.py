"""Pages of one's own (core/ui/own_page.py): ``run_task`` and ``hold_slot`` hold the group's slot.

The two README examples, ``tests/fixtures/own_pages/poster.py`` (``run_task``) and
``clouds.py`` (``@hold_slot``), run under AppTest as standalone scripts. While
their work runs, a gate on its first progress step looks from inside: the
group shows the slot taken and a second requester has to wait; after the page
finished, the slot is free and the second requester got it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from core.app import App
from core.tasks.assignment import group_of
from core.ui import own_page
from core.ui.wording import plain
from core.worker import store as worker_store
from db.models import TaskRun
from tests.pages.helpers import recorded_runs, started_app
from tests.support.apptest import ROOT, as_read, page_text
from tests.worker.support import set_group

PAGES = ROOT / "tests/fixtures/own_pages"
BOUND_S = 30.0
"""Generous bound on every wait below: only guards against a hang."""


def _page(name: str) -> AppTest:
    at = AppTest.from_file(str(PAGES / name), default_timeout=60).run()
    assert not at.exception, at.exception
    return at


def _click(at: AppTest, label: str) -> AppTest:
    (button,) = [button for button in at.button if button.label == label]
    return button.click().run()


class SecondRequester:
    """Another thread asking for the same group's slot: it must wait until the page is done."""

    def __init__(self, app: App, group: str) -> None:
        self.waiting = threading.Event()
        self.granted = threading.Event()

        def ask() -> None:
            def waited(_info) -> None:
                self.waiting.set()

            with app.limiter.slot(group, owner="someone else", on_wait=waited):
                self.granted.set()

        self._thread = threading.Thread(target=ask, daemon=True)
        self._thread.start()

    def join(self) -> None:
        self._thread.join(BOUND_S)
        assert not self._thread.is_alive()


def _look_from_inside(app: App, group: str, seen: dict) -> None:
    """What the gate checks while the page's work holds the slot."""
    seen["running"] = app.limiter.snapshot()[group].running
    seen["second"] = second = SecondRequester(app, group)
    seen["second waited"] = second.waiting.wait(BOUND_S) and not second.granted.is_set()


def _gate_once(original: Callable, look: Callable[[], None]) -> Callable:
    """``original``, with ``look()`` done before its first call."""
    done = threading.Event()

    def gated(*args, **kwargs):
        if not done.is_set():
            done.set()
            look()
        return original(*args, **kwargs)

    return gated


def _rows(app: App) -> list[TaskRun]:
    assert app.recorder.flush(BOUND_S)
    with Session(app.engine) as session:
        return list(session.exec(select(TaskRun)).all())


# run_task --------------------------------------------------------------------------------------


def test_the_run_task_page_runs_the_task_holding_its_groups_slot(apptest_app, monkeypatch):
    at = _page("poster.py")
    app = started_app()
    group = group_of(app.engine, "pattern")
    seen: dict = {}
    # The dispatcher writes the run's first progress while it holds the slot for it:
    # look from there (its thread, in this process) before letting the run go on.
    monkeypatch.setattr(
        worker_store,
        "progress",
        _gate_once(worker_store.progress, lambda: _look_from_inside(app, group, seen)),
    )
    at = _click(at, "Draw the poster")
    assert not at.exception, at.exception
    assert seen["running"] == 1 and seen["second waited"]
    seen["second"].join()
    assert seen["second"].granted.is_set()
    assert app.limiter.snapshot()[group].running == 0
    (run,) = recorded_runs(app)
    assert (run.task, run.status, run.group_name) == ("pattern", "succeeded", group)
    assert run.params["prompt"] == "a quiet harbour at dawn" and run.params["size"] == 128
    # The generic result view, then the page's own line under it.
    assert [metric.label for metric in at.metric] == ["Seed", "Pixels"]
    assert [success.value for success in at.success] == [
        "Your poster is ready: Download PNG saves it."
    ]
    # A later script run shows the same finished run, with Run ready again.
    at.run()
    assert [metric.label for metric in at.metric] == ["Seed", "Pixels"]
    assert not [button for button in at.button if button.label == "Draw the poster"][0].disabled


def test_run_task_says_why_a_run_is_refused_and_queues_nothing(apptest_app):
    at = _page("poster.py")
    app = started_app()
    group = group_of(app.engine, "pattern")
    set_group(app, group, paused=True, max_queue=0)
    at = _click(at, "Draw the poster")
    assert not at.exception, at.exception
    assert f"in group **{group}** on a Taskgate worker" in page_text(at)
    assert [warning.value for warning in at.warning] == [
        plain(f"Group {group} is busy and does not queue requests; try again shortly.")
    ]
    assert recorded_runs(app) == []


def test_run_task_checks_the_settings_it_is_given(apptest_app):
    at = _page("poster.py")
    at.text_input[0].set_value("   ")
    at = _click(at, "Draw the poster")
    assert not at.exception, at.exception
    assert [as_read(error.value) for error in at.error] == ["Prompt must not be empty."]
    assert recorded_runs(started_app()) == []


def test_run_task_names_a_task_that_does_not_exist(apptest_app):
    def page() -> None:
        from core.ui.own_page import run_task

        run_task("no-such-task", {})

    at = AppTest.from_function(page, default_timeout=60).run()
    assert not at.exception, at.exception
    assert as_read(at.error[0].value).startswith("There is no task called 'no-such-task'")


# hold_slot -------------------------------------------------------------------------------------


def test_the_decorated_block_holds_group_as_slot_while_it_runs(apptest_app, monkeypatch):
    at = _page("clouds.py")
    app = started_app()
    seen: dict = {}
    monkeypatch.setattr(
        own_page._LiveSlot,
        "progress",
        _gate_once(own_page._LiveSlot.progress, lambda: _look_from_inside(app, "A", seen)),
    )
    at = _click(at, "Make clouds")
    assert not at.exception, at.exception
    assert seen["running"] == 1 and seen["second waited"]
    seen["second"].join()
    assert seen["second"].granted.is_set()
    assert app.limiter.snapshot()["A"].running == 0
    (image,) = at.get("image")
    assert as_read(image.proto.imgs[0].caption) == "40 passes over 256 × 256 noise"
    assert "Ran " in page_text(at) and "in group A · waited" in page_text(at)
    (row,) = _rows(app)
    assert (row.task, row.group_name, row.status) == ("Clouds from noise", "A", "succeeded")
    assert row.owner == at.session_state["taskgate.guest"]


def test_a_refused_block_is_a_sentence_and_holds_nothing(apptest_app):
    at = _page("clouds.py")
    app = started_app()
    set_group(app, "A", paused=True, max_queue=0)
    at = _click(at, "Make clouds")
    assert not at.exception, at.exception
    assert [warning.value for warning in at.warning] == [
        plain("Group A is busy and does not queue requests; try again shortly.")
    ]
    assert not at.get("image")
    assert app.limiter.snapshot()["A"].running == 0
    (row,) = _rows(app)
    assert (row.task, row.status) == ("Clouds from noise", "rejected")


def test_an_unknown_group_is_a_sentence_and_the_page_stops_there(apptest_app):
    def page() -> None:
        import streamlit as st

        from core.ui.own_page import hold_slot

        with hold_slot("Nowhere", label="Lost") as progress:
            progress(1.0, "never")
        st.write("after the block")

    at = AppTest.from_function(page, default_timeout=60).run()
    assert not at.exception, at.exception
    assert [as_read(warning.value) for warning in at.warning] == [
        "Group Nowhere does not exist (an admin may have removed it), so nothing runs."
    ]
    assert "after the block" not in page_text(at)
    assert "Nowhere" not in started_app().limiter.snapshot()  # not created on first use
    assert _rows(started_app()) == []


def _stopped_by_apptest(at: AppTest) -> None:
    """AppTest requests a stop when the script outlives its timeout, then joins its thread
    without a limit: a wait or block that did not pass the stop check would hang here."""
    with pytest.raises(RuntimeError, match="timed out"):
        at.run(timeout=10)


def test_leaving_while_waiting_gives_up_the_place_in_the_queue(apptest_app, monkeypatch):
    at = _page("clouds.py")
    app = started_app()
    holder_in, holder_go = threading.Event(), threading.Event()

    def hold() -> None:
        with app.limiter.slot("A", owner="holder"):
            holder_in.set()
            holder_go.wait(BOUND_S)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert holder_in.wait(BOUND_S)
    queued = threading.Event()
    original = own_page._LiveSlot.waiting

    def waiting(self, info) -> None:
        queued.set()
        original(self, info)

    monkeypatch.setattr(own_page._LiveSlot, "waiting", waiting)
    (button,) = [button for button in at.button if button.label == "Make clouds"]
    button.click()
    _stopped_by_apptest(at)
    assert queued.is_set()
    snapshot = app.limiter.snapshot()["A"]
    assert (snapshot.running, snapshot.queued) == (1, 0)  # the holder alone; the page left
    holder_go.set()
    holder.join(BOUND_S)
    (row,) = _rows(app)
    assert (row.status, row.error, row.started_at) == ("cancelled", own_page.STOPPED, None)


def test_stopping_the_page_stops_the_block_and_releases_the_slot(apptest_app, monkeypatch):
    def page() -> None:
        from core.ui.own_page import hold_slot

        with hold_slot("A", label="Spin") as progress:
            while True:  # only a stop ends it, at a progress call
                progress(0.5, "spinning")

    app = started_app()  # started before the timed run, which must reach the block
    inside = threading.Event()
    monkeypatch.setattr(
        own_page._LiveSlot, "progress", _gate_once(own_page._LiveSlot.progress, inside.set)
    )
    at = AppTest.from_function(page, default_timeout=60)
    _stopped_by_apptest(at)
    assert inside.is_set()
    assert app.limiter.snapshot()["A"].running == 0
    (row,) = _rows(app)
    assert (row.task, row.status, row.error) == ("Spin", "cancelled", own_page.STOPPED)
    assert row.started_at is not None


def test_a_cancel_from_my_runs_stops_the_block(apptest_app, monkeypatch):
    def page() -> None:
        import streamlit as st

        from core.ui.own_page import hold_slot

        @hold_slot("A", label="Spin")
        def spin(progress) -> str:
            while True:  # only a cancel ends it, at a progress call
                progress(0.5, "spinning")

        st.write(f"returned {spin()}")

    at = AppTest.from_function(page, default_timeout=60)

    def cancel_in_my_runs() -> None:
        app = started_app()
        (row,) = _rows(app)  # the block's row, recorded when it got the slot
        assert app.runs.cancel(row.id, actor=row.owner, owner=row.owner)

    monkeypatch.setattr(
        own_page._LiveSlot, "progress", _gate_once(own_page._LiveSlot.progress, cancel_in_my_runs)
    )
    at.run()
    assert not at.exception, at.exception
    assert "returned None" in page_text(at)
    assert "Cancelled from My runs." in page_text(at)
    app = started_app()
    assert app.limiter.snapshot()["A"].running == 0
    (row,) = _rows(app)
    assert (row.status, row.error) == ("cancelled", "Cancelled from My runs.")


# The README ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["poster.py", "clouds.py"])
def test_the_readme_shows_each_own_page_example_as_it_is(name):
    readme = (ROOT / "README.md").read_text()
    example = (PAGES / name).read_text()
    assert f"```python\n{example}```" in readme
