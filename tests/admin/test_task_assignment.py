"""Which group a task runs in is the admin's decision: seeded, moved, audited, kept on rename."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from core.auth import NotAuthorized
from core.groups import GroupSettings
from core.groups.audit import read_audit_log
from core.tasks import registry
from core.tasks.assignment import (
    AssignmentError,
    TasksNeedAGroup,
    assignments,
    group_of,
    move_task,
    seed_assignments,
)
from db.models import ConcurrencyGroup, TaskGroup
from tests.admin.support import ADMIN, USER, audit_count
from tests.pages.helpers import SMALL_SETTINGS, fill_form, open_page, press_run, recorded_runs
from tests.support.apptest import page_text

TASKS = registry.tasks()


@pytest.fixture
def seeded(groups):
    seed_assignments(groups.engine, TASKS.values(), default_limit=1)
    return groups


def _moved_away_from(engine, group: str) -> list[str]:
    return sorted(key for key, name in assignments(engine).items() if name == group)


def test_every_task_starts_in_its_default_group(seeded):
    assert assignments(seeded.engine) == {key: task.group for key, task in TASKS.items()}
    assert all(group_of(seeded.engine, key) == task.group for key, task in TASKS.items())
    # Seeding again changes nothing.
    assert seed_assignments(seeded.engine, TASKS.values(), default_limit=1) == []


def test_a_task_whose_default_group_is_missing_gets_it_with_the_default_limit(groups):
    from tests.fixtures.tasks_extra.echo import TASK as echo

    assert seed_assignments(groups.engine, [echo], default_limit=3) == ["Echoes"]
    with Session(groups.engine) as session:
        created = session.exec(
            select(ConcurrencyGroup).where(ConcurrencyGroup.name == "Echoes")
        ).one()
    assert created.limit == 3
    assert group_of(groups.engine, "echo") == "Echoes"


def test_the_admin_moves_a_task_and_the_audit_log_says_so(seeded):
    engine = seeded.engine
    assert move_task(engine, ADMIN, "matmul", " b ") == "B"
    assert group_of(engine, "matmul") == "B"
    (entry, *_) = read_audit_log(engine)
    assert (entry.actor, entry.action, entry.group) == (ADMIN.name, "move task", "B")
    assert entry.change == "task matmul: group A → B"
    with Session(engine) as session:
        row = session.get(TaskGroup, "matmul")
    assert row.updated_by == ADMIN.name
    # Moving it where it already is writes nothing.
    count = audit_count(engine)
    assert move_task(engine, ADMIN, "matmul", "B") == "B"
    assert audit_count(engine) == count


def test_a_move_that_cannot_be_made_is_one_sentence_and_writes_nothing(seeded):
    engine = seeded.engine
    before, count = assignments(engine), audit_count(engine)
    with pytest.raises(NotAuthorized):
        move_task(engine, USER, "matmul", "B")
    with pytest.raises(AssignmentError, match=r"^There is no group named Nope; reload"):
        move_task(engine, ADMIN, "matmul", "Nope")
    with pytest.raises(AssignmentError, match=r"^There is no task sort; reload"):
        move_task(engine, ADMIN, "sort", "B")
    assert assignments(engine) == before and audit_count(engine) == count


def test_renaming_a_group_carries_its_tasks_along(seeded):
    in_b = _moved_away_from(seeded.engine, "B")
    seeded.service.rename(ADMIN, "B", "Batch", expected_version=1)
    assert in_b and _moved_away_from(seeded.engine, "Batch") == in_b
    assert all(group_of(seeded.engine, key) == "Batch" for key in in_b)


def test_deleting_a_group_with_tasks_asks_where_they_go(seeded):
    engine, service = seeded.engine, seeded.service
    in_a = _moved_away_from(engine, "A")
    with pytest.raises(TasksNeedAGroup) as asked:
        service.delete(ADMIN, "A", expected_version=1)
    titles = sorted(TASKS[key].title for key in in_a)
    assert str(asked.value) == (
        f"Group A has {len(in_a)} task(s) ({', '.join(titles)}); "
        "choose the group they move to before deleting it."
    )
    with pytest.raises(AssignmentError, match="is not one"):
        service.delete(ADMIN, "A", expected_version=1, move_tasks_to="A")
    assert "A" in seeded.snapshot() and _moved_away_from(engine, "A") == in_a

    service.create(ADMIN, "C", GroupSettings(limit=2))
    service.delete(ADMIN, "A", expected_version=1, move_tasks_to="c")
    assert "A" not in seeded.snapshot()
    assert _moved_away_from(engine, "C") == in_a
    moves = [entry for entry in read_audit_log(engine) if entry.action == "move task"]
    assert sorted(entry.change for entry in moves) == sorted(
        f"task {key}: group A → C" for key in in_a
    )


def test_a_moved_task_runs_its_next_request_in_the_new_group(apptest_app):
    at = open_page("matmul")
    assert "Runs in group **A**" in page_text(at)
    from core.ui import bootstrap

    app = bootstrap.started_app()
    move_task(app.engine, ADMIN, "matmul", "B")
    at.run()
    assert "Runs in group **B**" in page_text(at)
    fill_form(at, "matmul", SMALL_SETTINGS["matmul"])
    at = press_run(at)
    assert not at.exception and "for a slot in group B" in page_text(at)
    (run,) = recorded_runs(app)
    assert run.group_name == "B" and run.status == "succeeded"


def test_the_admin_page_lists_every_task_with_its_group_and_moves_one(apptest_app):
    from core.ui import bootstrap
    from tests.admin.apptest_admin import admin_page, show_section, sign_in

    at = show_section(sign_in(admin_page()), "Tasks")
    assert not at.exception, at.exception
    for key, task in TASKS.items():
        assert at.selectbox(key=f"admin:task-group:{key}").value == task.group
        assert f"**{task.title}**" in page_text(at).replace("\\", "")
    assert at.button(key="admin:task-move:matmul").disabled
    at.selectbox(key="admin:task-group:matmul").select("B").run()
    at = at.button(key="admin:task-move:matmul").click().run()
    assert [s.value for s in at.success] == [
        "Matrix-multiply benchmark now runs in group B, from its next run on."
    ]
    assert group_of(bootstrap.started_app().engine, "matmul") == "B"
    at = show_section(at, "Audit log")
    (table,) = at.dataframe
    first = table.value.iloc[0]
    assert (first["Action"], first["Group"], first["Change"]) == (
        "move task",
        "B",
        "task matmul: group A → B",
    )


def test_replicas_seeding_at_once_write_each_row_once(groups):
    import threading

    barrier = threading.Barrier(4, timeout=10)
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            seed_assignments(groups.engine, TASKS.values(), default_limit=1)
        except BaseException as error:  # the test reports it below
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert assignments(groups.engine) == {key: task.group for key, task in TASKS.items()}
