"""Recording what every group looks like every second, and forgetting it after a while.

The scheduler calls ``OccupancySampler.sample`` every
``TASKGATE_SAMPLE_INTERVAL_S``: one ``occupancy_sample`` row per group, all
with the same timestamp, in one short transaction. The same transaction
raises each group's row of ``occupancy_minute`` to the sample's values
(``INSERT ... ON CONFLICT DO UPDATE`` taking the larger), so the per-minute
roll-up the day and week charts read is always as current as the samples.
``prune_history`` deletes samples and finished runs older than the retention
in batches, so a prune after a long downtime never holds SQLite's write lock
for long.

Every process runs the sampling job, but a fleet sharing a database needs
one sample per interval, not one per process (the occupancy is read from
the shared queue, so it already covers the whole fleet): only the process holding the sampler lease,
a row in ``app_setting`` renewed with each sample, writes. If it stops for
``LEASE_INTERVALS`` intervals, the next process to try takes the lease over.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from core.metrics.sql import greatest, upsert
from core.runs.occupancy import Occupancy
from db.engine import rows_matched, session_scope
from db.models import (
    FINISHED_STATUSES,
    AppSetting,
    OccupancyMinute,
    OccupancySample,
    TaskRun,
    utcnow,
)

PRUNE_BATCH = 20_000
SAMPLER_LEASE = "occupancy_sampler_lease"
LEASE_INTERVALS = 3


class OccupancySampler:
    """Writes the occupancy of every group to ``occupancy_sample``."""

    def __init__(
        self,
        engine: Engine,
        occupancy: Occupancy,
        clock: Callable[[], datetime] = utcnow,
        interval_s: float = 1.0,
    ) -> None:
        self._engine = engine
        self._occupancy = occupancy
        self._clock = clock
        self._holder = uuid.uuid4().hex
        self._lease = timedelta(seconds=LEASE_INTERVALS * interval_s)

    def sample(self) -> int:
        """Record one sample per group now, if this process holds the sampler lease.

        Returns how many rows were written (0 when another process samples).
        """
        at = self._clock()
        rows = [
            {
                "ts": at,
                "group_name": group.name,
                "limit": group.limit,
                "running": group.running,
                "queued": group.queued,
            }
            for group in self._occupancy.snapshot().values()
        ]
        with session_scope(self._engine) as session:
            if not _hold_lease(session, self._holder, at, self._lease):
                return 0
            if rows:
                session.execute(insert(OccupancySample), rows)
                _roll_up(session, at, rows)
        return len(rows)


def _roll_up(session: Session, at: datetime, samples: list[dict]) -> None:
    """Raise each group's ``occupancy_minute`` row for the minute of ``at`` to these samples."""
    table = OccupancyMinute.__table__
    dialect = session.get_bind().dialect.name
    statement = upsert(table, dialect)
    new = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.group_name, table.c.minute],
        set_={
            column: greatest(table.c[column], new[column], dialect)
            for column in ("max_running", "max_queued", "max_limit")
        },
    )
    minute = at.replace(second=0, microsecond=0)
    rows = [
        {
            "group_name": sample["group_name"],
            "minute": minute,
            "max_running": sample["running"],
            "max_queued": sample["queued"],
            "max_limit": sample["limit"],
        }
        for sample in samples
    ]
    session.execute(statement, rows)


def _hold_lease(session: Session, holder: str, now: datetime, lease: timedelta) -> bool:
    """Renew the sampler lease, or take it if it is free or stale; True if ``holder`` has it.

    One conditional UPDATE (or an INSERT of the first lease), so two
    processes trying at once cannot both win.
    """
    table = AppSetting.__table__
    renewed = rows_matched(
        session.execute(
            update(table)
            .where(
                table.c.key == SAMPLER_LEASE,
                or_(table.c.value == holder, table.c.updated_at < now - lease),
            )
            .values(value=holder, updated_at=now)
        )
    )
    if renewed:
        return True
    first = (
        upsert(table, session.get_bind().dialect.name)
        .values(key=SAMPLER_LEASE, value=holder, updated_at=now)
        .on_conflict_do_nothing()
        .returning(table.c.key)
    )
    return session.execute(first).scalar_one_or_none() is not None


@dataclass(frozen=True)
class Pruned:
    samples: int
    minutes: int
    runs: int


def prune_history(engine: Engine, retention: timedelta, now: datetime | None = None) -> Pruned:
    """Delete samples, their per-minute roll-up, and finished runs, older than ``retention``.

    The roll-up has one row per group per minute, sixty times fewer than
    one-second samples, so one statement deletes it without holding the
    write lock for long.
    """
    cutoff = (now or utcnow()) - retention
    samples_table, minutes_table, runs_table = (
        OccupancySample.__table__,
        OccupancyMinute.__table__,
        TaskRun.__table__,
    )
    samples = _delete_in_batches(
        engine,
        samples_table,
        select(samples_table.c.id).where(samples_table.c.ts < cutoff),
    )
    with session_scope(engine) as session:
        minutes = rows_matched(
            session.execute(delete(minutes_table).where(minutes_table.c.minute < cutoff))
        )
    runs = _delete_in_batches(
        engine,
        runs_table,
        select(runs_table.c.id).where(
            runs_table.c.status.in_(FINISHED_STATUSES), runs_table.c.finished_at < cutoff
        ),
    )
    return Pruned(samples, minutes, runs)


def _delete_in_batches(engine: Engine, table, ids) -> int:
    total = 0
    while True:
        with session_scope(engine) as session:
            batch = ids.limit(PRUNE_BATCH)
            deleted = rows_matched(session.execute(delete(table).where(table.c.id.in_(batch))))
        total += deleted
        if deleted < PRUNE_BATCH:
            return total
