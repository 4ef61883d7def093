"""Helpers for the admin tests: actors, a group service on a real database, data writers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, insert
from sqlmodel import Session, select

from core.auth import ADMIN_NAME, Actor
from core.group_sync import GroupSync
from core.groups import GroupService
from core.limiter import Limiter
from db.models import AuditEvent, ConcurrencyGroup, OccupancyMinute, OccupancySample, TaskRun

ADMIN = Actor(ADMIN_NAME, is_admin=True)
ALICE = Actor("alice", is_admin=True)
USER = Actor("someone")


@dataclass
class Groups:
    """A GroupService with the limiter and sync it drives, on one database."""

    engine: Engine
    limiter: Limiter
    sync: GroupSync
    service: GroupService


def make_groups(engine: Engine) -> Groups:
    limiter = Limiter()
    sync = GroupSync(engine, limiter)
    sync.refresh()
    return Groups(engine, limiter, sync, GroupService(engine, sync, limiter))


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


class SlotUser:
    """A thread that asks for a slot of ``group`` and holds it until ``release()``.

    ``queued`` is set once it waits in the queue, ``granted`` once it holds a
    slot, ``done`` when it left; ``error`` is what ended its wait, if anything.
    """

    def __init__(self, limiter: Limiter, group: str, owner: str = "user") -> None:
        import threading

        self.queued = threading.Event()
        self.granted = threading.Event()
        self.done = threading.Event()
        self._release = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(limiter, group, owner), daemon=True)
        self._thread.start()

    def _run(self, limiter: Limiter, group: str, owner: str) -> None:
        try:
            with limiter.slot(group, owner=owner, on_wait=lambda _info: self.queued.set()):
                self.granted.set()
                self._release.wait(30)
        except Exception as error:  # the outcome under test
            self.error = error
        finally:
            self.done.set()

    def release(self) -> None:
        self._release.set()
        self._thread.join(10)
