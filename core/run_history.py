"""One owner's runs, newest first: what the "My runs" page lists and a task page shows.

Rows come from ``task_run``, written by the run service and the admitters.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from db.models import ACTIVE_STATUSES, TaskRun

RECENT_RUNS_LIMIT = 50
"""Enough to find yesterday's runs again; a page is not an archive."""


def recent_runs(engine: Engine, owner: str, limit: int = RECENT_RUNS_LIMIT) -> list[TaskRun]:
    """``owner``'s last ``limit`` runs, newest first (by when they were requested)."""
    with Session(engine, expire_on_commit=False) as session:
        rows = session.exec(
            select(TaskRun)
            .where(TaskRun.owner == owner)
            .order_by(col(TaskRun.enqueued_at).desc(), col(TaskRun.id))
            .limit(limit)
        ).all()
        session.expunge_all()
        return list(rows)


def latest_run_id(engine: Engine, owner: str, task: str) -> str | None:
    """The id of ``owner``'s newest run of ``task``, whatever its status."""
    with Session(engine) as session:
        return session.exec(
            select(TaskRun.id)
            .where(TaskRun.owner == owner, TaskRun.task == task)
            .order_by(col(TaskRun.enqueued_at).desc(), col(TaskRun.id))
            .limit(1)
        ).first()


def run_statuses(engine: Engine, owner: str, limit: int = 20) -> dict[str, tuple[str, str]]:
    """``owner``'s newest runs as ``{id: (task, status)}``, for the start/end toasts."""
    with Session(engine) as session:
        rows = session.exec(
            select(TaskRun.id, TaskRun.task, TaskRun.status)
            .where(TaskRun.owner == owner)
            .order_by(col(TaskRun.enqueued_at).desc(), col(TaskRun.id))
            .limit(limit)
        ).all()
    return {run_id: (task, status) for run_id, task, status in rows}


def active_run_ids(engine: Engine, owner: str, task: str) -> list[str]:
    """The ids of ``owner``'s queued or running runs of ``task``, newest first."""
    with Session(engine) as session:
        return list(
            session.exec(
                select(TaskRun.id)
                .where(
                    TaskRun.owner == owner,
                    TaskRun.task == task,
                    col(TaskRun.status).in_(ACTIVE_STATUSES),
                )
                .order_by(col(TaskRun.enqueued_at).desc(), col(TaskRun.id))
            ).all()
        )
