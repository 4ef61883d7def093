"""Every SQL statement on durable runs: ``task_run`` rows, their results and the ``worker`` rows.

Writes that decide something (submit, claim, start, finish) are conditional
on what the row still says, so a process that lost a run (its lease ran out,
someone else reclaimed it) can never overwrite the outcome another process
recorded: ``finish`` only changes a row that is still active *and* still
claimed by the caller. Lease times come from ``shared_limiter.store.clock``:
the database's clock on PostgreSQL, this host's on SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, update

from core.shared_limiter.store import clock
from core.worker.sentences import LEASE_LOST
from db.models import ACTIVE_STATUSES, ConcurrencyGroup, RunResult, TaskRun, Worker, group_name_key

RUNS = TaskRun.__table__
RESULTS = RunResult.__table__
WORKERS = Worker.__table__
GROUPS = ConcurrencyGroup.__table__

__all__ = ["clock"]


@dataclass(frozen=True)
class ClaimedRun:
    """What a dispatcher needs to run a claimed run."""

    id: str
    group: str
    task: str
    owner: str
    params: dict[str, Any]
    max_run_s: float | None = None
    """The group's run-time cap when the run was claimed (core/worker/claims.py)."""
    inputs: bytes | None = None
    """``task_run.inputs``: what ``params`` records only by its size (an uploaded image)."""


@dataclass(frozen=True)
class GroupRules:
    name: str
    limit: int
    paused: bool
    max_queue: int | None
    per_owner_limit: int | None


def _group_is(name: str):
    return RUNS.c.group_key == group_name_key(name)


# submitting ---------------------------------------------------------------------
def group_rules(connection: Connection, name: str) -> GroupRules | None:
    row = connection.execute(
        select(
            GROUPS.c.name,
            GROUPS.c.limit,
            GROUPS.c.paused,
            GROUPS.c.max_queue,
            GROUPS.c.per_owner_limit,
        ).where(GROUPS.c.name_key == group_name_key(name))
    ).first()
    return None if row is None else GroupRules(*row)


def active_counts(connection: Connection, group: str, owner: str) -> tuple[int, int, int]:
    """(queued, running, the owner's queued + running) runs of ``group``."""
    row = connection.execute(
        select(
            func.count().filter(RUNS.c.status == "queued"),
            func.count().filter(RUNS.c.status == "running"),
            func.count().filter(RUNS.c.owner == owner),
        ).where(_group_is(group), RUNS.c.status.in_(ACTIVE_STATUSES))
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def insert_run(connection: Connection, **values: Any) -> None:
    connection.execute(insert(RUNS).values(status="queued", device="", **values))


def request_cancel(connection: Connection, run_id: str, actor: str, now: datetime) -> bool:
    """Mark an active run for cancelling; False if it had already ended (or was marked)."""
    result = connection.execute(
        update(RUNS)
        .where(
            RUNS.c.id == run_id,
            RUNS.c.status.in_(ACTIVE_STATUSES),
            RUNS.c.cancel_requested_at.is_(None),
        )
        .values(cancel_requested_at=now, cancelled_by=actor)
    )
    return result.rowcount == 1


# dispatching (claims: core/worker/claims.py) ------------------------------------
def _mine(run_id: str, worker_id: str, statuses: Sequence[str]):
    return and_(RUNS.c.id == run_id, RUNS.c.worker_id == worker_id, RUNS.c.status.in_(statuses))


def start(
    connection: Connection, run_id: str, worker_id: str, now: datetime, host: str, pid: int
) -> bool:
    """Mark a claimed run running, unless it was cancelled or reclaimed meanwhile."""
    result = connection.execute(
        update(RUNS)
        .where(
            _mine(run_id, worker_id, ("queued",)),
            RUNS.c.cancel_requested_at.is_(None),
            RUNS.c.requeue_requested_at.is_(None),
        )
        .values(
            status="running",
            started_at=now,
            progress_fraction=0.0,
            progress_message="Starting…",
            host=host,
            pid=pid,
        )
    )
    return result.rowcount == 1


def progress(
    connection: Connection,
    run_id: str,
    worker_id: str,
    fraction: float,
    message: str,
    device: str | None = None,
) -> bool:
    values: dict[str, Any] = {"progress_fraction": fraction, "progress_message": message}
    if device is not None:
        values["device"] = device
    result = connection.execute(
        update(RUNS).where(_mine(run_id, worker_id, ("running",))).values(**values)
    )
    return result.rowcount == 1


def finish(
    connection: Connection,
    run_id: str,
    worker_id: str,
    status: str,
    now: datetime,
    *,
    error: str | None = None,
    result: bytes | None = None,
) -> bool:
    """Record how a run of mine ended (and its result); False if it was no longer mine.

    "Mine" includes an unexpired lease: once it ran out, the run may already
    count as free elsewhere, and only the sweep may record it (as lost).
    """
    values: dict[str, Any] = {
        "status": status,
        "finished_at": now,
        "error": error,
        "lease_expires_at": None,
    }
    if status == "succeeded":
        values["progress_fraction"] = 1.0
    if status == "cancelled":  # an admin's cancel says who and when
        values["error"] = func.coalesce(RUNS.c.stop_sentence, error)
    changed = connection.execute(
        update(RUNS)
        .where(_mine(run_id, worker_id, ACTIVE_STATUSES), RUNS.c.lease_expires_at >= now)
        .values(**values)
    )
    if changed.rowcount != 1:
        return False
    if result is not None:
        connection.execute(insert(RESULTS).values(run_id=run_id, content=result, size=len(result)))
    return True


def unclaim(connection: Connection, run_ids: Sequence[str], worker_id: str) -> int:
    """Give queued runs back to the queue, keeping their place (their enqueued_at).

    A run someone asked to cancel meanwhile is not given back: its holder
    records it cancelled instead (nobody would claim it only to cancel it).
    """
    if not run_ids:
        return 0
    result = connection.execute(
        update(RUNS)
        .where(
            RUNS.c.id.in_(run_ids),
            RUNS.c.worker_id == worker_id,
            RUNS.c.status == "queued",
            RUNS.c.cancel_requested_at.is_(None),
        )
        .values(worker_id=None, lease_expires_at=None, requeue_requested_at=None)
    )
    return result.rowcount


def renew(
    connection: Connection, worker_id: str, run_ids: Sequence[str], now: datetime, until: datetime
) -> set[str]:
    """Extend the leases of my active runs that have not expired; return the ids still mine.

    An expired lease is not revived even if nobody has swept it yet: the
    run may already count as free elsewhere, so it is over for this worker.
    """
    connection.execute(update(WORKERS).where(WORKERS.c.id == worker_id).values(heartbeat_at=now))
    if not run_ids:
        return set()
    connection.execute(
        update(RUNS)
        .where(
            RUNS.c.id.in_(run_ids),
            RUNS.c.worker_id == worker_id,
            RUNS.c.status.in_(ACTIVE_STATUSES),
            RUNS.c.lease_expires_at >= now,
        )
        .values(lease_expires_at=until)
    )
    rows = connection.execute(
        select(RUNS.c.id).where(
            RUNS.c.id.in_(run_ids),
            RUNS.c.worker_id == worker_id,
            RUNS.c.status.in_(ACTIVE_STATUSES),
            RUNS.c.lease_expires_at > now,
        )
    )
    return set(rows.scalars())


def renew_held(connection: Connection, run_ids: Sequence[str], until: datetime) -> None:
    """Extend the leases of runs held by page code (``core.held_runs``) that still run.

    Such a run has no ``worker_id``; a run that ended, or that a sweep already
    recorded lost, keeps its status.
    """
    connection.execute(
        update(RUNS)
        .where(RUNS.c.id.in_(run_ids), RUNS.c.status == "running", RUNS.c.worker_id.is_(None))
        .values(lease_expires_at=until)
    )


def sweep(connection: Connection, now: datetime) -> tuple[int, int]:
    """Any process's clean-up: (running runs recorded lost, queued runs given back).

    A running run whose lease expired belongs to a worker that died or froze;
    a queued run claimed by such a worker goes back to the queue in its place
    (given back, as its worker would have if it had been asked back).
    Only durable runs (with a lease) are touched.
    """
    expired = and_(RUNS.c.lease_expires_at.is_not(None), RUNS.c.lease_expires_at < now)
    lost = connection.execute(
        update(RUNS)
        .where(RUNS.c.status == "running", expired)
        .values(status="lost", finished_at=now, error=LEASE_LOST, lease_expires_at=None)
    ).rowcount
    returned = connection.execute(
        update(RUNS)
        .where(RUNS.c.status == "queued", expired)
        .values(worker_id=None, lease_expires_at=None, requeue_requested_at=None)
    ).rowcount
    return lost, returned


# workers ------------------------------------------------------------------------
def register_worker(connection: Connection, **values: Any) -> None:
    connection.execute(insert(WORKERS).values(**values))


def worker_stopped(connection: Connection, worker_id: str, now: datetime) -> None:
    connection.execute(update(WORKERS).where(WORKERS.c.id == worker_id).values(stopped_at=now))


# results ------------------------------------------------------------------------
def result_of(connection: Connection, run_id: str) -> bytes | None:
    return connection.execute(
        select(RESULTS.c.content).where(RESULTS.c.run_id == run_id)
    ).scalar_one_or_none()


def owner_of(connection: Connection, run_id: str) -> str | None:
    return connection.execute(select(RUNS.c.owner).where(RUNS.c.id == run_id)).scalar_one_or_none()
