"""The Admin page under AppTest: the sign-in gate, live limit changes, validation, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.auth import ANONYMOUS, Actor, NotAuthorized
from core.groups import GroupService, GroupSettings
from core.limiter import GroupSnapshot
from core.runs.held import RunEnded
from core.tasks import registry
from core.tasks.assignment import group_of
from core.ui import bootstrap
from core.ui.admin.run_actions import SHOWN_WAITING
from db.models import utcnow
from tests.admin.apptest_admin import (
    admin_page,
    choose_group,
    errors,
    fill,
    save_edit,
    sentence_below,
    show_section,
    sign_in,
    submit_create,
    successes,
)
from tests.admin.support import ALICE, audit_count, group_rows, write_run
from tests.support.apptest import as_read, page_text
from tests.support.runs import WAIT_S, SlotUser


def _service() -> GroupService:
    return bootstrap.started_app().groups()


def _snapshot() -> dict[str, GroupSnapshot]:
    """Every group as pages see it, read now."""
    return bootstrap.started_app().occupancy.fresh()


def _editor_widgets(at) -> list[str]:
    """The page's own widgets (the sidebar's account control is on every page)."""
    widgets = (*at.text_input, *at.selectbox, *at.button)
    return [w.key for w in widgets if w.key and "account:" not in w.key]


def test_without_signing_in_the_editor_is_out_of_reach_and_the_service_refuses(apptest_app):
    at = admin_page()
    assert not at.exception
    assert _editor_widgets(at) == ["admin:password", "FormSubmitter:admin-sign-in-Sign in"]
    assert "Sign in as the admin" in page_text(at)
    # A session that somehow holds a non-admin actor is not let in either.
    at.session_state["admin:actor"] = Actor("admin", is_admin=False)
    at.run()
    assert "admin:section" not in [w.key for w in at.segmented_control]
    # And the service itself refuses anyone who is not an admin.
    for actor in (None, ANONYMOUS, Actor("admin")):
        with pytest.raises(NotAuthorized):
            _service().update(actor, "A", GroupSettings(limit=3), expected_version=1)
    assert _snapshot()["A"].limit == 1


def test_a_wrong_password_does_not_open_the_page(apptest_app):
    at = sign_in(admin_page(), "not-the-password")
    assert errors(at) == ["That password is not right."]
    assert "admin:section" not in [w.key for w in at.segmented_control]
    assert "not-the-password" not in page_text(at)


def test_the_admin_raises_a_limit_and_the_queue_has_it_at_once(apptest_app):
    at = sign_in(admin_page())
    assert not at.exception and not errors(at)
    assert "Signed in as **admin**." in page_text(at)
    assert _snapshot()["A"].limit == 1

    at = choose_group(show_section(at, "Groups"), "A")
    fill(at, "edit", limit="3")
    at = save_edit(at)
    assert not at.exception and not errors(at)
    assert _snapshot()["A"].limit == 3  # no poll in between: applied by the save
    assert "Saved group A; it applies now." in successes(at)
    assert at.text_input(key="edit:limit").value == "3"

    at = show_section(at, "Audit log")
    [log] = at.dataframe
    first = log.value.iloc[0]
    assert (first["Who"], first["Action"], first["Group"], first["Change"]) == (
        "admin",
        "update",
        "A",
        "limit 1 → 3",
    )


UNCHANGED_A = {
    "name": "A",
    "limit": "1",
    "max_queue": "",
    "per_owner_limit": "",
    "queue_timeout_s": "",
    "description": "",
}
BAD_EDITS = [
    ("name", "", "Give the group a name."),
    ("name", "x" * 65, "A group name can have at most 64 characters (this one has 65)."),
    (
        "name",
        "b",
        "There is already a group named B (names count as the same whatever their case).",
    ),
    (
        "name",
        "<b>A</b>",
        "A group name cannot contain markup; use only letters, digits, spaces and - _ .",
    ),
    ("name", "A\tB", "A group name cannot contain control or invisible characters"),
    ("limit", "0", "The limit must be from 1 to 1024 (not 0)."),
    ("limit", "1025", "The limit must be from 1 to 1024 (not 1025)."),
    ("limit", "2.5", "The limit must be a whole number, without a fraction."),
    ("limit", "three", "The limit must be a whole number, written with digits."),
    ("limit", "NaN", "The limit must be a whole number, written with digits."),
    ("limit", "inf", "The limit must be a finite whole number."),
    ("max_queue", "-1", "The queue cap cannot be negative (not -1)"),
    ("per_owner_limit", "-2", "The limit per person must be from 1 to 1024 (not -2)"),
    ("queue_timeout_s", "0", "The queue timeout must be at least 0.1 seconds (not 0)"),
    ("queue_timeout_s", "-1.5", "The queue timeout must be at least 0.1 seconds (not -1.5)"),
]


def test_each_bad_input_gets_its_sentence_next_to_the_field_and_nothing_is_written(apptest_app):
    at = choose_group(show_section(sign_in(admin_page()), "Groups"), "A")
    engine = bootstrap.started_app().engine
    before = group_rows(engine)
    for field, value, sentence in BAD_EDITS:
        fill(at, "edit", **{**UNCHANGED_A, field: value})
        at = save_edit(at)
        assert not at.exception, (field, value)
        below = sentence_below(at, f"edit:{field}")
        assert below is not None and below.startswith(sentence), (field, value, below)
        assert len(errors(at)) == 1, (field, value, errors(at))
        assert group_rows(engine) == before, (field, value)
    assert audit_count(engine) == 0
    assert _snapshot()["A"].limit == 1


def test_creating_a_group_validates_then_applies(apptest_app):
    at = show_section(sign_in(admin_page()), "Groups")
    fill(at, "create", name="gpu-large", limit="0", max_queue="-3")
    at = submit_create(at)
    assert sentence_below(at, "create:limit").startswith("The limit must be from 1 to 1024")
    assert sentence_below(at, "create:max_queue").startswith("The queue cap cannot be negative")
    assert "gpu-large" not in _snapshot()

    fill(at, "create", name="gpu-large", limit="2", max_queue="5", description="Big jobs")
    at = submit_create(at)
    assert not errors(at)
    assert "Created group gpu-large; it applies now." in successes(at)
    group = _snapshot()["gpu-large"]
    assert (group.limit, group.max_queue, group.description) == (2, 5, "Big jobs")
    assert at.text_input(key="create:name").value == ""  # the form is ready for the next one


def test_a_second_admins_save_is_refused_and_reload_shows_the_first_ones(apptest_app):
    at = choose_group(show_section(sign_in(admin_page()), "Groups"), "A")
    # Meanwhile alice, in another session, saves A.
    _service().update(ALICE, "A", GroupSettings(limit=2), expected_version=1)
    at.run()  # any redraw already tells the admin
    [notice] = errors(at)
    assert notice.startswith("Group A was changed by alice at ")
    fill(at, "edit", limit="5")
    at = save_edit(at)
    [message] = errors(at)
    assert message.startswith("Group A was changed by alice at ")
    assert message.endswith(" UTC; reload to see it.")
    assert _snapshot()["A"].limit == 2  # not overwritten

    at = at.button(key="admin:reload").click().run()
    assert not errors(at)
    assert at.text_input(key="edit:limit").value == "2"
    fill(at, "edit", limit="5")
    at = save_edit(at)
    assert not errors(at)
    assert _snapshot()["A"].limit == 5


def test_pause_and_resume_take_one_click_each(apptest_app):
    at = show_section(sign_in(admin_page()), "Groups")
    toggle = [b for b in at.button if b.key and b.key.startswith("admin:toggle:")][0]
    at = toggle.click().run()
    assert _snapshot()["A"].paused
    assert "Group A is paused: it admits nothing new until resumed." in successes(at)
    toggle = [b for b in at.button if b.key == toggle.key][0]
    assert toggle.label == "Resume"
    at = toggle.click().run()
    assert not _snapshot()["A"].paused


def test_renaming_and_deleting_an_idle_group(apptest_app):
    at = choose_group(show_section(sign_in(admin_page()), "Groups"), "B")
    fill(at, "edit", name="Batch")
    at = save_edit(at)
    assert not errors(at)
    names = set(_snapshot())
    assert "Batch" in names and "B" not in names
    assert at.selectbox(key="admin:edit-choice").value == "Batch"
    engine = bootstrap.started_app().engine
    b_tasks = sorted(key for key, task in registry.tasks().items() if task.group == "B")
    assert b_tasks and all(group_of(engine, key) == "Batch" for key in b_tasks)

    # Its tasks carried the rename along; deleting it first asks where they go.
    at = at.button(key="admin:delete").click().run()
    (warning,) = at.warning
    assert warning.value.startswith(f"Group Batch has {len(b_tasks)} task(s) (")
    assert "Batch" in _snapshot()
    assert at.button(key="admin:delete-move").disabled
    at.selectbox(key="admin:tasks-target").select("A").run()
    at = at.button(key="admin:delete-move").click().run()
    assert "Deleted group Batch. Its tasks now run in group A." in successes(at)
    assert "Batch" not in _snapshot()
    assert all(group_of(engine, key) == "A" for key in b_tasks)


def test_deleting_a_busy_group_asks_first_and_turns_its_queue_away(apptest_app):
    app = bootstrap.started_app()
    holder = SlotUser(app, "A", "u1")
    assert holder.granted.wait(WAIT_S)
    waiter = SlotUser(app, "A", "u2")
    assert waiter.queued.wait(WAIT_S)
    try:
        at = choose_group(show_section(sign_in(admin_page()), "Groups"), "A")
        at = at.button(key="admin:delete").click().run()
        [warning] = [as_read(w.value) for w in at.warning]
        assert warning.startswith("Group A has 1 running run and 1 queued run.")
        assert "A" in _snapshot() and not waiter.done.is_set()

        at = at.button(key="admin:delete-confirm").click().run()
        assert "A" in _snapshot() and not waiter.done.is_set()
        # Group A has tasks too: they need a group before it goes.
        at.selectbox(key="admin:tasks-target").select("B").run()
        at = at.button(key="admin:delete-move").click().run()
        assert "Deleted group A. Its tasks now run in group B." in successes(at)
        assert waiter.done.wait(WAIT_S) and isinstance(waiter.error, RunEnded)
        assert str(waiter.error) == "Group A was removed while you were waiting."
        assert not holder.done.is_set()
    finally:
        holder.release()
        waiter.release()
    assert holder.error is None


def test_history_renders_for_every_time_range(apptest_app):
    app = bootstrap.started_app()
    write_run(app.engine, "r1", "A", utcnow() - timedelta(minutes=5), 1.0, 2.0)
    write_run(app.engine, "r2", "B", utcnow() - timedelta(minutes=4), 0.5, 1.0, status="failed")
    at = show_section(sign_in(admin_page()), "History")
    for label in ("Last hour", "Last 24 hours", "Last 7 days"):
        at = at.segmented_control(key="admin:history-window").set_value(label).run()
        assert not at.exception, label
        stats = at.dataframe[0].value.set_index("Group")
        assert stats.loc["A", "Runs"] == 1 and stats.loc["B", "Failed"] == 1, label
        runs = at.dataframe[1].value
        assert list(runs["Group"]) == ["B", "A"], label
    at = at.multiselect(key="admin:runs-statuses").select("failed").run()
    assert list(at.dataframe[1].value["Status"]) == ["failed"]


def test_the_live_view_lists_each_groups_occupancy_queue_and_last_hour(apptest_app):
    app = bootstrap.started_app()
    write_run(app.engine, "done", "A", utcnow() - timedelta(minutes=30), 1.0, 2.0)
    write_run(app.engine, "broke", "A", utcnow() - timedelta(minutes=20), 1.0, 2.0, "failed")
    holder = SlotUser(app, "A", "u1")
    assert holder.granted.wait(WAIT_S)
    waiter = SlotUser(app, "A", "u2")
    assert waiter.queued.wait(WAIT_S)
    try:
        at = sign_in(admin_page())  # the Live section is the first one shown
        table = at.table[0].value
        a, b = table.loc["A"], table.loc["B"]
        assert (a["Running / limit"], a["Queued"], a["Runs, last hour"]) == ("1 / 1", 1, 2)
        assert a["Failed, last hour"] == 1 and a["Oldest wait"] != "–"
        assert (b["Running / limit"], b["Queued"], b["Oldest wait"]) == ("0 / 1", 0, "–")
        assert len(at.get("plotly_chart")) == 2
    finally:
        holder.release()
        waiter.release()


def test_a_long_queue_lists_its_head_and_the_rest_behind_a_switch(apptest_app):
    app = bootstrap.started_app()
    _service().pause(ALICE, "A")  # nothing starts: every run stays in line
    submitted = [app.runs.submit("matmul", {"n": 64}, f"guest:{n:032x}") for n in range(13)]
    at = sign_in(admin_page())
    in_line = [m for m in at.markdown if " in line** · " in m.value]
    assert len(in_line) == SHOWN_WAITING == 10
    assert as_read(in_line[0].value).startswith("**#1 in line**")
    (switch,) = [t for t in at.toggle if t.key == "admin:show-all:A"]
    assert switch.label == "Show the other 3 runs waiting"
    at = switch.set_value(True).run()
    assert len([m for m in at.markdown if " in line** · " in m.value]) == len(submitted)
    assert app.run_admin.clear_queue(ALICE, "A", len(submitted)) == len(submitted)
