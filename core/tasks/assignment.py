"""Which group each task's runs go through: the admin's decision, stored in ``task_group``.

A task declares a default group; at start-up every discovered task without a
row gets one for that group (created with the default limit if it does not
exist, as a group named by code on first use always is). From then on the row
decides: the admin moves a task on the Admin page (checked, audited, applied
to the next request, which reads the row), renaming a group carries its tasks
along (the row holds the group's id), and a group with tasks is deleted only
once they are moved to another (``move_tasks_off``, inside the delete's
transaction).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.auth import Actor, require_admin
from core.limiter import CREATED_ON_FIRST_USE
from core.tasks import registry
from core.tasks.task import TaskSpec
from db.engine import session_scope
from db.models import AuditEvent, ConcurrencyGroup, TaskGroup, utcnow

MOVE_ACTION = "move task"


class AssignmentError(Exception):
    """A task could not be moved (or its group deleted); ``str()`` is the sentence to show."""


class TasksNeedAGroup(AssignmentError):
    """A group that tasks belong to can be deleted only by saying where they go."""

    def __init__(self, group: str, titles: list[str]) -> None:
        listed = ", ".join(titles)
        super().__init__(
            f"Group {group} has {len(titles)} task(s) ({listed}); "
            "choose the group they move to before deleting it."
        )
        self.group = group
        self.titles = titles


def seed_assignments(engine: Engine, tasks: Iterable[TaskSpec], default_limit: int) -> list[str]:
    """Give each task without a row its default group; return the groups this created.

    Replicas starting together may race to write the same rows: the loser's
    transaction fails on a unique key, and trying once more finds them written.
    """
    tasks = list(tasks)
    try:
        return _seed(engine, tasks, default_limit)
    except IntegrityError:
        return _seed(engine, tasks, default_limit)


def _seed(engine: Engine, tasks: list[TaskSpec], default_limit: int) -> list[str]:
    created: list[str] = []
    with session_scope(engine) as session:
        assigned = set(session.exec(select(TaskGroup.task_key)).all())
        for task in tasks:
            if task.key in assigned:
                continue
            group = _find_group(session, task.group)
            if group is None:
                group = ConcurrencyGroup(
                    name=task.group, limit=default_limit, description=CREATED_ON_FIRST_USE
                )
                session.add(group)
                session.flush()
                created.append(group.name)
            assert group.id is not None
            session.add(TaskGroup(task_key=task.key, group_id=group.id))
            assigned.add(task.key)
    return created


def group_of(engine: Engine, task_key: str) -> str:
    """The name of the group ``task_key``'s next run goes through.

    A task with no row yet (discovered after start-up) uses its default group,
    which the limiter creates on first use.
    """
    with Session(engine) as session:
        name = session.exec(
            select(ConcurrencyGroup.name)
            .join(TaskGroup, col(TaskGroup.group_id) == col(ConcurrencyGroup.id))
            .where(TaskGroup.task_key == task_key)
        ).first()
    return name if name is not None else registry.get(task_key).group


def assignments(engine: Engine) -> dict[str, str]:
    """Every stored assignment: task key -> group name, in one query."""
    with Session(engine) as session:
        rows = session.exec(
            select(TaskGroup.task_key, ConcurrencyGroup.name).join(
                ConcurrencyGroup, col(TaskGroup.group_id) == col(ConcurrencyGroup.id)
            )
        ).all()
    return dict(rows)


def move_task(engine: Engine, actor: Actor, task_key: str, group: str) -> str:
    """Assign ``task_key`` to the group named ``group``; return that group's name as stored.

    The change and its audit event are one transaction. Runs already queued or
    running stay where they are; the next request goes to the new group.
    """
    require_admin(actor)
    task = registry.tasks().get(task_key)
    if task is None:
        raise AssignmentError(f"There is no task {task_key}; reload the page to see the tasks.")
    with session_scope(engine) as session:
        target = _find_group(session, group)
        if target is None:
            raise AssignmentError(
                f"There is no group named {group.strip()}; reload the page to see the groups."
            )
        assert target.id is not None
        row = session.get(TaskGroup, task_key)
        before = session.get(ConcurrencyGroup, row.group_id) if row else None
        if row is not None and row.group_id == target.id:
            return target.name
        if row is None:
            row = TaskGroup(task_key=task_key, group_id=target.id)
        _move(session, actor, row, before.name if before else task.group, target)
        return target.name


def move_tasks_off(
    session: Session, actor: Actor, group: ConcurrencyGroup, target: str | None
) -> None:
    """Before ``group`` is deleted in ``session``: move its tasks to ``target``, audited.

    Raises :class:`TasksNeedAGroup` when it has tasks and no target is given,
    and :class:`AssignmentError` when the target is missing or the group itself.
    """
    rows = session.exec(select(TaskGroup).where(TaskGroup.group_id == group.id)).all()
    if not rows:
        return
    if target is None:
        tasks = registry.tasks()
        titles = [
            tasks[row.task_key].title if row.task_key in tasks else row.task_key for row in rows
        ]
        raise TasksNeedAGroup(group.name, sorted(titles))
    destination = _find_group(session, target)
    if destination is None or destination.id == group.id:
        raise AssignmentError(
            f"Group {group.name}'s tasks need another group that exists; "
            f"{target.strip()} is not one."
        )
    for row in rows:
        _move(session, actor, row, group.name, destination)


def _move(
    session: Session, actor: Actor, row: TaskGroup, before: str, target: ConcurrencyGroup
) -> None:
    assert target.id is not None
    row.group_id = target.id
    row.updated_at = utcnow()
    row.updated_by = actor.name
    session.add(row)
    session.add(
        AuditEvent(
            actor=actor.name,
            action=MOVE_ACTION,
            group_name=target.name,
            before={"task": row.task_key, "group": before},
            after={"task": row.task_key, "group": target.name},
        )
    )


def _find_group(session: Session, name: str) -> ConcurrencyGroup | None:
    # Compared in Python: SQLite's lower() folds ASCII letters only.
    key = name.strip().casefold()
    rows = session.exec(select(ConcurrencyGroup)).all()
    return next((row for row in rows if row.name.casefold() == key), None)
