"""Every SQL statement on runs: the queue (``task_run``), results, and the process rows.

``task_run`` is the one queue. A run's life in rows:

- **queued**: ``worker_id`` empty; its place is ``QUEUE_ORDER`` within its group;
- **granted**: still ``queued``, with ``worker_id`` (the process that executes it)
  and a lease; it holds one of its group's slots from here on;
- **running**: its body has started (``mark_running``);
- a **final status** (``finish``, ``end_waiting``, ``sweep``).

Writes that decide something are conditional on what the row still says, so
a process that lost a run (its lease ran out) can never overwrite the outcome
another process recorded. Lease times are ``clock``: the database's clock on
PostgreSQL, as hosts' clocks may differ; this host's on SQLite, whose
processes all run on this host.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, text, update

from core.limiter import policy
from core.limiter.config import GroupConfig, config_of
from core.limiter.errors import GroupRemoved, QueueTimeout
from core.runs.sentences import CANCELLED_WHILE_WAITING, LEASE_LOST, PAGE_GONE
from db.models import (
    ACTIVE_STATUSES,
    ConcurrencyGroup,
    RunResult,
    RunStatus,
    TaskRun,
    Worker,
    group_name_key,
    utcnow,
)

RUNS = TaskRun.__table__
RESULTS = RunResult.__table__
WORKERS = Worker.__table__
GROUPS = ConcurrencyGroup.__table__

QUEUE_ORDER = (RUNS.c.queue_order, RUNS.c.enqueued_at, RUNS.c.id)
"""A group's queue, head first; the one ordering grants, positions and the live view use."""

_GRANT_LOCK = 0x7A5C6A7E
"""The PostgreSQL advisory lock every grant and reordering takes (a number unique to Taskgate)."""

WAITING = and_(RUNS.c.status == RunStatus.QUEUED, RUNS.c.worker_id.is_(None))
"""Runs in the queue proper: not yet granted a slot."""
HOLDING = and_(RUNS.c.status.in_(ACTIVE_STATUSES), RUNS.c.worker_id.is_not(None))
"""Runs that hold a slot: granted (starting) or running."""


def clock(connection: Connection) -> datetime:
    """Now, by the clock leases are judged by (the database's on PostgreSQL)."""
    if connection.dialect.name == "postgresql":
        return connection.execute(select(func.clock_timestamp())).scalar_one()
    return utcnow()


def utc(moment: datetime) -> datetime:
    """Stored times are UTC; SQLite hands them back without a zone, PostgreSQL with one."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def serialise(connection: Connection) -> None:
    """Make this transaction the only one granting or reordering until it ends.

    SQLite's write transactions already are (``BEGIN IMMEDIATE``); PostgreSQL
    takes a transaction-scoped advisory lock.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _GRANT_LOCK})


def lock_group(connection: Connection, name: str) -> GroupConfig | None:
    """The group's settings, its row locked until commit (PostgreSQL); None if there is none."""
    row = connection.execute(
        select(GROUPS).where(GROUPS.c.name_key == group_name_key(name)).with_for_update()
    ).first()
    return None if row is None else config_of(row)


def group_configs(connection: Connection) -> dict[str, GroupConfig]:
    """Every group's settings, by ``group_name_key``."""
    return {row.name_key: config_of(row) for row in connection.execute(select(GROUPS))}


# submitting ---------------------------------------------------------------------
@dataclass(frozen=True)
class Counts:
    """One group's active runs as admission counts them."""

    waiting: int
    holding: int
    owner_has: int


def counts(connection: Connection, group: str, owner: str) -> Counts:
    row = connection.execute(
        select(
            func.count().filter(WAITING),
            func.count().filter(RUNS.c.worker_id.is_not(None)),
            func.count().filter(RUNS.c.owner == owner),
        ).where(RUNS.c.group_key == group_name_key(group), RUNS.c.status.in_(ACTIVE_STATUSES))
    ).one()
    return Counts(int(row[0]), int(row[1]), int(row[2]))


def asked_again(
    connection: Connection,
    owner: str,
    task: str,
    params: Mapping[str, Any],
    since: datetime,
) -> bool:
    """Whether ``owner`` asked for ``task`` with these ``params`` since ``since`` (not held)."""
    recent = connection.execute(
        select(RUNS.c.params).where(
            RUNS.c.owner == owner,
            RUNS.c.task == task,
            RUNS.c.held_by.is_(None),
            RUNS.c.enqueued_at >= since,
        )
    ).scalars()
    return any(dict(stored or {}) == dict(params) for stored in recent)


def insert_run(connection: Connection, **values: Any) -> None:
    connection.execute(insert(RUNS).values(status=RunStatus.QUEUED, device="", **values))


def request_cancel(
    connection: Connection, run_id: str, actor: str, now: datetime, sentence: str | None = None
) -> bool:
    """Cancel an active run: at once if it waits, else ask its executor; False if it ended.

    ``sentence`` is what the owner reads (an admin's cancel names the admin).
    """
    waiting = connection.execute(
        update(RUNS)
        .where(RUNS.c.id == run_id, WAITING)
        .values(
            status=RunStatus.CANCELLED,
            finished_at=now,
            error=sentence or CANCELLED_WHILE_WAITING,
            cancel_requested_at=now,
            cancelled_by=actor,
            lease_expires_at=None,
        )
    ).rowcount
    if waiting:
        return True
    asked = connection.execute(
        update(RUNS)
        .where(
            RUNS.c.id == run_id,
            RUNS.c.status.in_(ACTIVE_STATUSES),
            RUNS.c.cancel_requested_at.is_(None),
        )
        .values(cancel_requested_at=now, cancelled_by=actor, stop_sentence=sentence)
    ).rowcount
    return asked == 1


# granting -----------------------------------------------------------------------
@dataclass(frozen=True)
class Grantee:
    """Who asks for grants: a process, the groups its executor serves, its free room."""

    worker_id: str
    groups: frozenset[str] | None
    """Group keys its executor serves; None: every group."""
    room: int
    """How many more task runs its executor can start now (0: none, or no executor)."""


@dataclass(frozen=True)
class GrantedRun:
    """What an executor (or a page, for a held run) needs to run a granted run."""

    id: str
    group: str
    task: str
    owner: str
    params: dict[str, Any]
    max_run_s: float | None
    """The group's run-time cap at the grant."""
    inputs: bytes | None
    """``task_run.inputs``: what ``params`` records only by its size (an uploaded image)."""
    held: bool
    """True for page code (``hold_slot``): run on the page's thread, not by an executor."""


def choose(connection: Connection, grantee: Grantee) -> list[str]:
    """The one admission decision: which waiting runs ``grantee`` is granted now.

    Per group, the oldest waiting runs take the free slots
    (``policy.free_slots``: limit minus runs holding a slot, none while
    paused), in queue order and never past a run the grantee may not take:
    a held run of another process, or a task run when its executor is full
    or does not serve the group. That run's own process grants it, so no run
    overtakes another in its group. Read-only: ``grant`` applies it.
    """
    configs = group_configs(connection)
    rows = connection.execute(
        select(
            RUNS.c.group_key,
            func.count().filter(WAITING),
            func.count().filter(RUNS.c.worker_id.is_not(None)),
        )
        .where(RUNS.c.status.in_(ACTIVE_STATUSES))
        .group_by(RUNS.c.group_key)
    ).all()
    heads: list[Any] = []
    for group_key, waiting, holding in rows:
        config = configs.get(group_key)
        free = 0 if config is None else policy.free_slots(config, holding)
        if waiting and free > 0:
            heads += connection.execute(
                select(RUNS.c.id, RUNS.c.group_key, RUNS.c.held_by, *QUEUE_ORDER[:2])
                .where(WAITING, RUNS.c.group_key == group_key)
                .order_by(*QUEUE_ORDER)
                .limit(free)
            ).all()
    heads.sort(key=lambda row: (row.queue_order, utc(row.enqueued_at), row.id))
    room, blocked, ids = grantee.room, set(), []
    for head in heads:
        if head.group_key in blocked:
            continue
        if head.held_by is not None:
            mine = head.held_by == grantee.worker_id
        else:
            serves = grantee.groups is None or head.group_key in grantee.groups
            mine = serves and room > 0
            room -= mine
        if mine:
            ids.append(head.id)
        else:
            blocked.add(head.group_key)
    return ids


def grant(connection: Connection, grantee: Grantee, lease_until: datetime) -> list[GrantedRun]:
    """Apply ``choose`` under the grant lock: the chosen runs hold their slots from now."""
    serialise(connection)
    ids = choose(connection, grantee)
    if not ids:
        return []
    connection.execute(
        update(RUNS)
        .where(RUNS.c.id.in_(ids), WAITING)
        .values(
            worker_id=grantee.worker_id, lease_expires_at=lease_until, granted_at=clock(connection)
        )
    )
    granted = connection.execute(
        select(
            RUNS.c.id,
            RUNS.c.group_name,
            RUNS.c.task,
            RUNS.c.owner,
            RUNS.c.params,
            GROUPS.c.max_run_s,
            RUNS.c.inputs,
            RUNS.c.held_by,
        )
        .select_from(RUNS.outerjoin(GROUPS, GROUPS.c.name_key == RUNS.c.group_key))
        .where(RUNS.c.id.in_(ids), RUNS.c.worker_id == grantee.worker_id)
        .order_by(*QUEUE_ORDER)
    ).all()
    return [
        GrantedRun(
            r.id,
            r.group_name,
            r.task,
            r.owner,
            dict(r.params or {}),
            r.max_run_s,
            r.inputs,
            r.held_by is not None,
        )
        for r in granted
    ]


def any_overdue(connection: Connection, now: datetime) -> bool:
    """Whether ``end_waiting`` or ``sweep`` has anything to do: read-only, two small queries."""
    expired = connection.execute(
        select(RUNS.c.id)
        .where(
            RUNS.c.status.in_(ACTIVE_STATUSES),
            RUNS.c.lease_expires_at.is_not(None),
            RUNS.c.lease_expires_at < now,
        )
        .limit(1)
    ).first()
    if expired is not None:
        return True
    configs = group_configs(connection)
    oldest = connection.execute(
        select(RUNS.c.group_key, func.min(RUNS.c.enqueued_at))
        .where(WAITING)
        .group_by(RUNS.c.group_key)
    ).all()
    for key, enqueued_at in oldest:
        config = configs.get(key)
        if config is None:
            return True
        timeout_s = config.queue_timeout_s
        if timeout_s is not None and utc(enqueued_at) < utc(now) - timedelta(seconds=timeout_s):
            return True
    return False


def end_waiting(connection: Connection, now: datetime) -> int:
    """End the waiting runs that nobody will grant: past their queue timeout, or groupless.

    The queue timeout counts from the submit; the sentence is the refusal's own.
    """
    ended = 0
    configs = group_configs(connection)
    for key, config in configs.items():
        if config.queue_timeout_s is None:
            continue
        ended += connection.execute(
            update(RUNS)
            .where(
                WAITING,
                RUNS.c.group_key == key,
                RUNS.c.enqueued_at < now - timedelta(seconds=config.queue_timeout_s),
            )
            .values(
                status=RunStatus.TIMED_OUT,
                finished_at=now,
                error=str(QueueTimeout(config.name, config.queue_timeout_s)),
            )
        ).rowcount
    orphans = connection.execute(
        select(RUNS.c.group_name).where(WAITING, RUNS.c.group_key.not_in(list(configs) or [""]))
    ).scalars()
    for name in set(orphans):
        ended += connection.execute(
            update(RUNS)
            .where(WAITING, RUNS.c.group_key == group_name_key(name))
            .values(status=RunStatus.REJECTED, finished_at=now, error=str(GroupRemoved(name)))
        ).rowcount
    return ended


# executing ----------------------------------------------------------------------
def _mine(run_id: str, worker_id: str, now: datetime):
    """The run is still granted to ``worker_id`` under a lease that has not run out."""
    return and_(
        RUNS.c.id == run_id,
        RUNS.c.worker_id == worker_id,
        RUNS.c.status.in_(ACTIVE_STATUSES),
        RUNS.c.lease_expires_at >= now,
    )


def mark_running(
    connection: Connection,
    run_id: str,
    worker_id: str,
    now: datetime,
    *,
    host: str,
    pid: int,
    device: str,
) -> bool:
    """Its body started: ``running`` from now; False if the run is no longer mine."""
    result = connection.execute(
        update(RUNS)
        .where(_mine(run_id, worker_id, now), RUNS.c.status == RunStatus.QUEUED)
        .values(
            status=RunStatus.RUNNING,
            started_at=now,
            progress_fraction=0.0,
            progress_message="Starting…",
            host=host,
            pid=pid,
            device=device,
        )
    )
    return result.rowcount == 1


def progress(
    connection: Connection, run_id: str, worker_id: str, fraction: float, message: str
) -> bool:
    result = connection.execute(
        update(RUNS)
        .where(
            RUNS.c.id == run_id,
            RUNS.c.worker_id == worker_id,
            RUNS.c.status == RunStatus.RUNNING,
        )
        .values(progress_fraction=fraction, progress_message=message)
    )
    return result.rowcount == 1


def finish(
    connection: Connection,
    run_id: str,
    worker_id: str,
    status: RunStatus,
    now: datetime,
    *,
    error: str | None = None,
    result: bytes | None = None,
) -> bool:
    """Record how a run of mine ended (and its result); False if it was no longer mine.

    "Mine" includes an unexpired lease: once it ran out, the sweep records
    the run. A cancel's sentence is the canceller's when one was given.
    """
    values: dict[str, Any] = {
        "status": status,
        "finished_at": now,
        "error": error,
        "lease_expires_at": None,
    }
    if status == RunStatus.SUCCEEDED:
        values["progress_fraction"] = 1.0
    if status == RunStatus.CANCELLED:
        values["error"] = func.coalesce(RUNS.c.stop_sentence, error)
    changed = connection.execute(update(RUNS).where(_mine(run_id, worker_id, now)).values(**values))
    if changed.rowcount != 1:
        return False
    if result is not None:
        connection.execute(insert(RESULTS).values(run_id=run_id, content=result, size=len(result)))
    return True


def give_back(connection: Connection, run_ids: Sequence[str], worker_id: str) -> int:
    """Return granted runs whose bodies never started to the queue, in their place."""
    if not run_ids:
        return 0
    return connection.execute(
        update(RUNS)
        .where(
            RUNS.c.id.in_(run_ids),
            RUNS.c.worker_id == worker_id,
            RUNS.c.status == RunStatus.QUEUED,
        )
        .values(worker_id=None, lease_expires_at=None, granted_at=None)
    ).rowcount


def to_stop(connection: Connection, worker_id: str) -> list[str]:
    """My runs whose cancel was asked for."""
    return list(
        connection.execute(
            select(RUNS.c.id).where(
                RUNS.c.worker_id == worker_id,
                RUNS.c.status.in_(ACTIVE_STATUSES),
                RUNS.c.cancel_requested_at.is_not(None),
            )
        ).scalars()
    )


# leases -------------------------------------------------------------------------
def renew(connection: Connection, worker_id: str, now: datetime, until: datetime) -> set[str]:
    """The process's heartbeat: extend the leases of all its runs that have not run out.

    Returns the ids still mine. An expired lease is not revived even if
    nobody has swept it yet: the slot may already count as free elsewhere.
    """
    connection.execute(update(WORKERS).where(WORKERS.c.id == worker_id).values(heartbeat_at=now))
    mine = and_(
        RUNS.c.worker_id == worker_id,
        RUNS.c.status.in_(ACTIVE_STATUSES),
        RUNS.c.lease_expires_at >= now,
    )
    connection.execute(update(RUNS).where(mine).values(lease_expires_at=until))
    return set(connection.execute(select(RUNS.c.id).where(mine)).scalars())


def renew_waiting_held(connection: Connection, worker_id: str, until: datetime) -> None:
    """Held runs still waiting have a lease too: a page whose process died leaves none behind."""
    connection.execute(
        update(RUNS).where(WAITING, RUNS.c.held_by == worker_id).values(lease_expires_at=until)
    )


def sweep(connection: Connection, now: datetime) -> tuple[int, int]:
    """The one clean-up, run by every live process: (runs recorded lost, runs given back).

    A run whose lease ran out belongs to a process that died or froze. Its
    body ran: ``lost``. It was granted but never started: back to the queue
    in its place. A held run whose page's process died while it waited: it
    ends, as nobody waits for it any more.
    """
    expired = and_(RUNS.c.lease_expires_at.is_not(None), RUNS.c.lease_expires_at < now)
    lost = connection.execute(
        update(RUNS)
        .where(RUNS.c.status == RunStatus.RUNNING, expired)
        .values(status=RunStatus.LOST, finished_at=now, error=LEASE_LOST, lease_expires_at=None)
    ).rowcount
    gone = connection.execute(
        update(RUNS)
        .where(RUNS.c.status == RunStatus.QUEUED, RUNS.c.held_by.is_not(None), expired)
        .values(status=RunStatus.FAILED, finished_at=now, error=PAGE_GONE, lease_expires_at=None)
    ).rowcount
    returned = connection.execute(
        update(RUNS)
        .where(RUNS.c.status == RunStatus.QUEUED, RUNS.c.worker_id.is_not(None), expired)
        .values(worker_id=None, lease_expires_at=None, granted_at=None)
    ).rowcount
    return lost + gone, returned


# processes ----------------------------------------------------------------------
def register_worker(connection: Connection, **values: Any) -> None:
    connection.execute(insert(WORKERS).values(**values))


def worker_stopped(connection: Connection, worker_id: str, now: datetime) -> None:
    connection.execute(update(WORKERS).where(WORKERS.c.id == worker_id).values(stopped_at=now))


# reading ------------------------------------------------------------------------
def result_of(connection: Connection, run_id: str) -> bytes | None:
    return connection.execute(
        select(RESULTS.c.content).where(RESULTS.c.run_id == run_id)
    ).scalar_one_or_none()


def owner_of(connection: Connection, run_id: str) -> str | None:
    return connection.execute(select(RUNS.c.owner).where(RUNS.c.id == run_id)).scalar_one_or_none()
