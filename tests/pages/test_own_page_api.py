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
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.app import App
from core.runs import sql
from core.runs.held import STOPPED
from core.tasks.assignment import group_of
from core.ui import own_page
from core.ui.wording import plain
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


class Requester:
    """Another requester of the same group's slot, on a thread of its own: a held run, as
    ``hold_slot`` makes, by ``owner``. It holds the slot until ``release`` is set (at once
    by default), and records whether it was seen waiting in the queue and granted."""

    def __init__(self, app: App, group: str, owner: str, *, hold: bool = False) -> None:
        self.waiting = threading.Event()
        self.granted = threading.Event()
        self.release = threading.Event()
        if not hold:
            self.release.set()
        self.held = app.held_run(group)
        self._errors: list[BaseException] = []

        def waited(view) -> None:
            if view is not None and view.position is not None:  # queued, not granted
                self.waiting.set()

        def ask() -> None:
            try:
                with self.held.holding(owner, f"{owner}'s block", waited):
                    self.granted.set()
                    assert self.release.wait(BOUND_S)
            except BaseException as error:  # noqa: BLE001 - re-raised on the test's thread
                self._errors.append(error)

        self._thread = threading.Thread(target=ask, daemon=True)
        self._thread.start()

    def join(self) -> None:
        self.release.set()
        self._thread.join(BOUND_S)
        assert not self._thread.is_alive()
        assert not self._errors, self._errors


def _granted_now(app: App) -> list[str]:
    """The admission decision at this instant, for this process: the runs it would grant."""
    with app.db.read() as connection:
        return sql.choose(connection, sql.Grantee(app.admitter.worker_id, None, room=1024))


def _look_from_inside(app: App, group: str, seen: dict) -> None:
    """What the gate checks while the page's work holds the slot."""
    seen["running"] = app.occupancy.fresh()[group].running
    seen["second"] = second = Requester(app, group, "someone else")
    seen["second waited"] = (
        second.waiting.wait(BOUND_S)
        and second.held.id not in _granted_now(app)  # the decision itself: no slot for it
        and not second.granted.is_set()
    )


def _gate_once(original: Callable, look: Callable[[], None]) -> Callable:
    """``original``, with ``look()`` done before its first call."""
    done = threading.Event()

    def gated(*args, **kwargs):
        if not done.is_set():
            done.set()
            look()
        return original(*args, **kwargs)

    return gated


def _rows(app: App, owner: str | None = None) -> list[TaskRun]:
    """The task_run rows (written as it happens: no recorder to flush), oldest first;
    only ``owner``'s if given."""
    return [row for row in recorded_runs(app) if owner is None or row.owner == owner]


# run_task --------------------------------------------------------------------------------------


def test_the_run_task_page_runs_the_task_holding_its_groups_slot(apptest_app, monkeypatch):
    at = _page("poster.py")
    app = started_app()
    group = group_of(app.engine, "pattern")
    seen: dict = {}
    # The executor hands the run's first progress to this process's admitter while the run
    # holds the slot: look from there (its thread, in this process) before letting it go on.
    monkeypatch.setattr(
        app.admitter,
        "progress",
        _gate_once(app.admitter.progress, lambda: _look_from_inside(app, group, seen)),
    )
    at = _click(at, "Draw the poster")
    assert not at.exception, at.exception
    assert seen["running"] == 1 and seen["second waited"]
    seen["second"].join()
    assert seen["second"].granted.is_set()
    assert app.occupancy.fresh()[group].running == 0
    run, second = recorded_runs(app)
    assert (run.task, run.status, run.group_name) == ("pattern", "succeeded", group)
    # The second requester got the slot only once the page's run had given it back.
    assert (second.owner, second.status, second.group_name) == ("someone else", "succeeded", group)
    assert second.started_at >= run.finished_at
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
    assert app.occupancy.fresh()["A"].running == 0
    (image,) = at.get("image")
    assert as_read(image.proto.imgs[0].caption) == "40 passes over 256 × 256 noise"
    assert "Ran " in page_text(at) and "in group A · waited" in page_text(at)
    row, second = _rows(app)
    assert (row.task, row.group_name, row.status) == ("Clouds from noise", "A", "succeeded")
    assert row.owner == at.session_state["taskgate.guest"]
    # The second requester got the slot only once the block had given it back.
    assert (second.owner, second.status) == ("someone else", "succeeded")
    assert second.started_at >= row.finished_at


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
    assert app.occupancy.fresh()["A"].running == 0
    assert _rows(app) == []  # refused at the request, as run_task's are: nothing queued


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
    assert "Nowhere" not in started_app().occupancy.fresh()  # not created on first use
    assert _rows(started_app()) == []


def _stopped_by_apptest(at: AppTest) -> None:
    """AppTest requests a stop when the script outlives its timeout, then joins its thread
    without a limit: a wait or block that did not pass the stop check would hang here."""
    with pytest.raises(RuntimeError, match="timed out"):
        at.run(timeout=10)


def test_leaving_while_waiting_gives_up_the_place_in_the_queue(apptest_app, monkeypatch):
    at = _page("clouds.py")
    app = started_app()
    holder = Requester(app, "A", "holder", hold=True)
    assert holder.granted.wait(BOUND_S)
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
    snapshot = app.occupancy.fresh()["A"]
    assert (snapshot.running, snapshot.queued) == (1, 0)  # the holder alone; the page left
    holder.join()
    (row,) = _rows(app, owner=at.session_state["taskgate.guest"])
    assert (row.task, row.status, row.error, row.started_at) == (
        "Clouds from noise", "cancelled", STOPPED, None,
    )  # fmt: skip
    assert app.occupancy.fresh()["A"].running == 0


def test_leaving_just_as_the_slot_is_granted_gives_the_slot_back(apptest_app, monkeypatch):
    """The page stops in the moment between its run's grant (committed) and the hand-out to
    its waiting thread: the page must end the granted run itself, or nobody ever would."""
    at = _page("clouds.py")
    app = started_app()
    holder = Requester(app, "A", "holder", hold=True)
    assert holder.granted.wait(BOUND_S)
    granted_in_db, page_gone = threading.Event(), threading.Event()
    hand_out = app.admitter._hand_out

    def hand_out_late(granted) -> None:
        if any(run.task == "Clouds from noise" for run in granted):
            granted_in_db.set()
            assert page_gone.wait(BOUND_S)
        hand_out(granted)

    monkeypatch.setattr(app.admitter, "_hand_out", hand_out_late)
    original = own_page._LiveSlot.waiting

    def waiting(self, view) -> None:
        holder.release.set()  # queued behind the holder: let it finish and grant the page
        if granted_in_db.is_set():
            st.stop()  # a stop request seen at this yield point, as a reload's would be
        original(self, view)

    monkeypatch.setattr(own_page._LiveSlot, "waiting", waiting)
    at = _click(at, "Make clouds")
    assert not at.exception, at.exception
    assert granted_in_db.is_set() and not at.get("image")
    page_gone.set()  # now the hand-out finds nobody waiting
    holder.join()
    (row,) = _rows(app, owner=at.session_state["taskgate.guest"])
    assert (row.task, row.status, row.error) == ("Clouds from noise", "cancelled", STOPPED)
    assert app.occupancy.fresh()["A"].running == 0


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
    assert app.occupancy.fresh()["A"].running == 0
    (row,) = _rows(app)
    assert (row.task, row.status, row.error) == ("Spin", "cancelled", STOPPED)
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
        (row,) = _rows(app)  # the block's row, queued when it asked for the slot
        assert app.runs.cancel(row.id, actor=row.owner, owner=row.owner)

    monkeypatch.setattr(
        own_page._LiveSlot, "progress", _gate_once(own_page._LiveSlot.progress, cancel_in_my_runs)
    )
    at.run()
    assert not at.exception, at.exception
    assert "returned None" in page_text(at)
    assert "Cancelled from My runs." in page_text(at)
    app = started_app()
    assert app.occupancy.fresh()["A"].running == 0
    (row,) = _rows(app)
    assert (row.status, row.error) == ("cancelled", "Cancelled from My runs.")


# The README ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["poster.py", "clouds.py"])
def test_the_readme_shows_each_own_page_example_as_it_is(name):
    readme = (ROOT / "README.md").read_text()
    example = (PAGES / name).read_text()
    assert f"```python\n{example}```" in readme
