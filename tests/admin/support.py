"""Helpers for the admin tests: actors, a group service on a real database, data writers.

Slots are held by real runs: ``SlotUser`` is in tests/support/runs.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, insert
from sqlmodel import Session, select

from core.app import App
from core.auth import ADMIN_NAME, Actor
from core.groups import GroupService
from core.limiter import GroupSnapshot
from db.models import AuditEvent, ConcurrencyGroup, OccupancyMinute, OccupancySample, TaskRun

ADMIN = Actor(ADMIN_NAME, is_admin=True)
ALICE = Actor("alice", is_admin=True)
USER = Actor("someone")


@dataclass
class Groups:
    """The group service of a started App (``quiet_app``), and what its groups look like now."""

    engine: Engine
    app: App
    service: GroupService

    def snapshot(self) -> dict[str, GroupSnapshot]:
        """Every group as pages see it, read now (``app.occupancy.fresh()``)."""
        return self.app.occupancy.fresh()


def make_groups(app: App) -> Groups:
    return Groups(app.engine, app, app.groups())


def group_rows(engine: Engine) -> list[tuple]:
    """Every group row as a comparable tuple (to show that nothing was written)."""
    with Session(engine) as session:
        rows = session.exec(select(ConcurrencyGroup).order_by(ConcurrencyGroup.id)).all()
        return [tuple(row.model_dump().values()) for row in rows]


def audit_count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count(AuditEvent.id))).one()


class Clock:
    """A settable ``utcnow`` for the sampler."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def write_samples(
    engine: Engine, group: str, start: datetime, values: list[tuple[int, int]], limit: int = 2
) -> None:
    """One sample per second from ``start``: ``values`` are (running, queued) pairs."""
    rows = [
        {
            "ts": start + timedelta(seconds=i),
            "group_name": group,
            "limit": limit,
            "running": running,
            "queued": queued,
        }
        for i, (running, queued) in enumerate(values)
    ]
    with Session(engine) as session:
        session.execute(insert(OccupancySample), rows)
        session.commit()


def write_minutes(engine: Engine, group: str, start: datetime, minutes: int) -> None:
    """``minutes`` rows of the per-minute roll-up from ``start``, one run at once in each."""
    rows = [
        {
            "group_name": group,
            "minute": start + timedelta(minutes=i),
            "max_running": 1,
            "max_queued": 0,
            "max_limit": 2,
        }
        for i in range(minutes)
    ]
    with Session(engine) as session:
        session.execute(insert(OccupancyMinute), rows)
        session.commit()


def write_run(
    engine: Engine,
    run_id: str,
    group: str,
    enqueued_at: datetime,
    wait_s: float | None,
    run_s: float | None,
    status: str = "succeeded",
) -> None:
    waited = None if wait_s is None else enqueued_at + timedelta(seconds=wait_s)
    started, finished = waited, None
    if status in ("timed_out", "rejected"):  # turned away: never started
        started, finished = None, waited
    elif status not in ("queued", "running"):
        finished = (started or enqueued_at) + timedelta(seconds=run_s or 0)
    with Session(engine) as session:
        session.add(
            TaskRun(
                id=run_id,
                group_name=group,
                task="matmul",
                owner="u",
                status=status,
                enqueued_at=enqueued_at,
                started_at=started,
                finished_at=finished,
            )
        )
        session.commit()
