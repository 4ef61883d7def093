"""Which queued runs a dispatcher takes next, so that FIFO holds across every worker.

A group's queue order is ``(queue_order, enqueued_at, id)`` (an admin's
"move to the head" lowers ``queue_order``). Claiming in that order is not
enough when several workers serve a group: the shared limiter grants slots
in *ticket* order, and a ticket is written when the run's thread enters
``limiter.slot``, a moment after its claim. Worker A could claim run 1,
worker B claim run 2 and enter the limiter first, and run 2 would start
before run 1.

So, with the shared limiter (``fleet_order``), a group is claimable only
while every run already claimed in it and still queued holds its ticket:
the next claim waits (one dispatcher tick) until the previous claimer has
entered the limiter, and ticket order is claim order is queue order.
Claims (and an admin's reordering, core/worker/run_admin.py) are serialised
fleet-wide to make that check safe: SQLite's write transactions already are
(``BEGIN IMMEDIATE``), PostgreSQL takes a transaction-scoped advisory lock
(``serialise``). The cost is one short wait per claim, not per run of a
worker that claims several at once.

A claimed, still waiting run can be asked back (``requeue_requested_at``,
set by an admin reordering its queue): its dispatcher leaves the limiter's
queue and gives the run back unclaimed, so it is claimed again in the new
order. ``start`` refuses such a run, so it cannot begin meanwhile. Each run
is given back by its own thread, at its own moment; a group is therefore not
claimable while any of its runs is still asked back and claimed, or the
first ones given back would be claimed again (and enter the limiter) ahead
of the run moved to the head, which was given back a moment later.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Connection, and_, exists, func, or_, select, text, update

from core.worker.store import GROUPS, RUNS, ClaimedRun
from db.models import ACTIVE_STATUSES, LimiterTicket

TICKETS = LimiterTicket.__table__
_CLAIM_LOCK = 0x7A5C6A7E
"""The PostgreSQL advisory lock key every claim takes (any fixed number unique to Taskgate)."""

QUEUE_ORDER = (RUNS.c.queue_order, RUNS.c.enqueued_at, RUNS.c.id)
"""A group's queue, head first; the one ordering the claim, the live view and the ETA use."""


def _of_groups(groups: Collection[str] | None):
    if groups is None:
        return True
    return func.lower(RUNS.c.group_name).in_([g.lower() for g in groups])


def _unclaimed(groups: Collection[str] | None):
    return and_(RUNS.c.status == "queued", RUNS.c.worker_id.is_(None), _of_groups(groups))


def look(
    connection: Connection, worker_id: str, groups: Collection[str] | None
) -> tuple[bool, list[str], list[str]]:
    """One read per tick: anything to claim? which of mine to cancel? which to give back?"""
    rows = connection.execute(
        select(
            RUNS.c.id,
            RUNS.c.worker_id,
            RUNS.c.status,
            RUNS.c.cancel_requested_at,
            RUNS.c.requeue_requested_at,
        ).where(
            RUNS.c.status.in_(ACTIVE_STATUSES),
            or_(
                _unclaimed(groups),
                and_(
                    RUNS.c.worker_id == worker_id,
                    or_(
                        RUNS.c.cancel_requested_at.is_not(None),
                        RUNS.c.requeue_requested_at.is_not(None),
                    ),
                ),
            ),
        )
    ).all()
    claimable = any(row.worker_id is None for row in rows)
    mine = [row for row in rows if row.worker_id == worker_id]
    to_stop = [row.id for row in mine if row.cancel_requested_at is not None]
    to_give_back = [
        row.id
        for row in mine
        if row.cancel_requested_at is None
        and row.requeue_requested_at is not None
        and row.status == "queued"
    ]
    return claimable, to_stop, to_give_back


def serialise(connection: Connection) -> None:
    """Make this transaction the only one claiming or reordering until it ends.

    SQLite's write transactions already are; on PostgreSQL this takes the
    advisory lock every claim takes, so a claim never reads a queue that a
    reordering is halfway through.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CLAIM_LOCK})


def _groups_awaiting_tickets(connection: Connection) -> set[str]:
    """Groups with a claimed, queued run that has not entered the shared limiter yet."""
    has_ticket = exists().where(TICKETS.c.run_id == RUNS.c.id)
    rows = connection.execute(
        select(func.lower(RUNS.c.group_name))
        .where(RUNS.c.status == "queued", RUNS.c.worker_id.is_not(None), ~has_ticket)
        .distinct()
    )
    return set(rows.scalars())


def _groups_being_reordered(connection: Connection) -> set[str]:
    """Groups with a run asked back that its dispatcher has not given back yet."""
    rows = connection.execute(
        select(func.lower(RUNS.c.group_name))
        .where(
            RUNS.c.status == "queued",
            RUNS.c.worker_id.is_not(None),
            RUNS.c.requeue_requested_at.is_not(None),
        )
        .distinct()
    )
    return set(rows.scalars())


def claim(
    connection: Connection,
    worker_id: str,
    groups: Collection[str] | None,
    most: int | None,
    lease_until: datetime,
    *,
    fleet_order: bool,
) -> list[ClaimedRun]:
    """Take up to ``most`` unclaimed queued runs in queue order, leased until ``lease_until``."""
    serialise(connection)
    query = select(RUNS.c.id).where(_unclaimed(groups))
    blocked = _groups_being_reordered(connection)
    if fleet_order:
        blocked |= _groups_awaiting_tickets(connection)
    if blocked:
        query = query.where(func.lower(RUNS.c.group_name).not_in(blocked))
    ids = list(connection.execute(query.order_by(*QUEUE_ORDER).limit(most)).scalars())
    if not ids:
        return []
    connection.execute(
        update(RUNS)
        .where(RUNS.c.id.in_(ids), _unclaimed(None))
        .values(worker_id=worker_id, lease_expires_at=lease_until)
    )
    rows = connection.execute(
        select(
            RUNS.c.id,
            RUNS.c.group_name,
            RUNS.c.task,
            RUNS.c.owner,
            RUNS.c.params,
            GROUPS.c.max_run_s,
            RUNS.c.inputs,
        )
        .select_from(
            RUNS.outerjoin(GROUPS, func.lower(GROUPS.c.name) == func.lower(RUNS.c.group_name))
        )
        .where(RUNS.c.id.in_(ids), RUNS.c.worker_id == worker_id)
        .order_by(*QUEUE_ORDER)
    ).all()
    return [
        ClaimedRun(r.id, r.group_name, r.task, r.owner, dict(r.params or {}), r.max_run_s, r.inputs)
        for r in rows
    ]


def asked_back(connection: Connection, run_id: str, worker_id: str) -> bool:
    """Whether my claimed run was asked back (so a refused start means: give it back)."""
    return (
        connection.execute(
            select(RUNS.c.id).where(
                RUNS.c.id == run_id,
                RUNS.c.worker_id == worker_id,
                RUNS.c.status == "queued",
                RUNS.c.cancel_requested_at.is_(None),
                RUNS.c.requeue_requested_at.is_not(None),
            )
        ).first()
        is not None
    )
