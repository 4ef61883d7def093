"""One owner's recent runs, newest first: what the "My runs" page lists.

Rows come from ``task_run``, which the run recorder fills in the background;
a caller that needs the runs it just finished to be there flushes the
recorder first.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session, select

from db.models import TaskRun

RECENT_RUNS_LIMIT = 50
"""Enough to find yesterday's runs again; a page is not an archive."""


def recent_runs(engine: Engine, owner: str, limit: int = RECENT_RUNS_LIMIT) -> list[TaskRun]:
    """``owner``'s last ``limit`` runs, newest first (by when they were requested)."""
    with Session(engine, expire_on_commit=False) as session:
        rows = session.exec(
            select(TaskRun)
            .where(TaskRun.owner == owner)
            .order_by(TaskRun.enqueued_at.desc(), TaskRun.id)
            .limit(limit)
        ).all()
        session.expunge_all()
        return list(rows)
