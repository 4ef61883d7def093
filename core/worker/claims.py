"""Which queued runs a dispatcher takes next, so that FIFO holds across every worker.

A run is claimed only when it can start soon: a group may have at most
``limit + LOOKAHEAD`` runs claimed or running, fleet-wide, and none while
it is paused. Each claimed run costs a thread waiting in the limiter; the
rest of the queue stays rows that cost nothing until a slot frees, and the
look-ahead run already waiting in the limiter takes a freed slot at once.
What a person sees of the queue (position, ETA, counts) is read from
``task_run``, so it does not depend on what was claimed. Unclaimed runs
nobody will claim in time are ended here (``end_overdue``): a cancel asked
for one that was given back, or a wait past the group's queue timeout,
counted from the submit. (A claimed run's queue timeout is the limiter's,
counted from its claim, which is at most the look-ahead's wait later.)

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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, exists, func, or_, select, text, update

from core.limiter import QueueTimeout
from core.worker.sentences import CANCELLED_WHILE_WAITING
from core.worker.store import GROUPS, RUNS, ClaimedRun, clock
from db.models import ACTIVE_STATUSES, LimiterTicket, group_name_key

TICKETS = LimiterTicket.__table__
_CLAIM_LOCK = 0x7A5C6A7E
"""The PostgreSQL advisory lock key every claim takes (any fixed number unique to Taskgate)."""

QUEUE_ORDER = (RUNS.c.queue_order, RUNS.c.enqueued_at, RUNS.c.id)
"""A group's queue, head first; the one ordering the claim, the live view and the ETA use."""

LOOKAHEAD = 1
"""Runs a group may have claimed beyond its limit: they wait in the limiter, ready for the
next free slot, while the dispatcher's next look claims the one after."""


def _of_groups(groups: Collection[str] | None):
    if groups is None:
        return True
    return RUNS.c.group_key.in_([group_name_key(g) for g in groups])


def _unclaimed(groups: Collection[str] | None):
    return and_(RUNS.c.status == "queued", RUNS.c.worker_id.is_(None), _of_groups(groups))


@dataclass(frozen=True)
class Look:
    """What one look at the queue found for a dispatcher."""

    rooms: dict[str, int]
    """Group key (``group_name_key``) -> how many of its unclaimed runs may be claimed now
    (only > 0)."""
    overdue: bool
    """Some unclaimed run must be ended (``end_overdue``)."""
    to_stop: list[str]
    """My runs whose cancel was asked for."""
    to_give_back: list[str]
    """My queued runs asked back (an admin reordered their queue)."""


def _rooms(
    connection: Connection, groups: Collection[str] | None, now: datetime
) -> tuple[dict[str, int], bool]:
    """Per group, how many unclaimed runs may be claimed; and whether one is overdue.

    One aggregate over the active runs (not a row per queued run) and the
    groups' settings. A group without a settings row (deleted meanwhile) has
    all its runs claimable: the limiter decides, as for any unknown group.
    """
    unclaimed = and_(RUNS.c.status == "queued", RUNS.c.worker_id.is_(None))
    counts = connection.execute(
        select(
            RUNS.c.group_key,
            func.count().filter(unclaimed),
            func.count().filter(RUNS.c.worker_id.is_not(None)),
            func.min(RUNS.c.enqueued_at).filter(unclaimed),
            func.count().filter(unclaimed, RUNS.c.cancel_requested_at.is_not(None)),
        )
        .where(RUNS.c.status.in_(ACTIVE_STATUSES), _of_groups(groups))
        .group_by(RUNS.c.group_key)
    ).all()
    if not counts:
        return {}, False
    settings = {
        row[0]: row[1:]
        for row in connection.execute(
            select(GROUPS.c.name_key, GROUPS.c.limit, GROUPS.c.paused, GROUPS.c.queue_timeout_s)
        )
    }
    rooms: dict[str, int] = {}
    overdue = False
    for group, waiting, held, oldest, cancelled in counts:
        limit, paused, timeout_s = settings.get(group, (None, False, None))
        if cancelled or (
            timeout_s is not None and oldest is not None
            and _utc(oldest) < _utc(now) - timedelta(seconds=timeout_s)
        ):  # fmt: skip
            overdue = True
        room = waiting if limit is None else 0 if paused else limit + LOOKAHEAD - held
        if min(room, waiting) > 0:
            rooms[group] = min(room, waiting)
    return rooms, overdue


def _utc(moment: datetime) -> datetime:
    """Stored times are UTC; SQLite hands them back without a zone, PostgreSQL with one."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def look(
    connection: Connection, worker_id: str, groups: Collection[str] | None, holding: bool
) -> Look:
    """One look per tick: what may be claimed, what must be ended, which of mine to stop.

    ``holding``: whether this dispatcher holds any run (if not, none of its runs is read).
    """
    rooms, overdue = _rooms(connection, groups, clock(connection))
    if not holding:
        return Look(rooms, overdue, [], [])
    mine = connection.execute(
        select(RUNS.c.id, RUNS.c.status, RUNS.c.cancel_requested_at).where(
            RUNS.c.worker_id == worker_id,
            RUNS.c.status.in_(ACTIVE_STATUSES),
            or_(
                RUNS.c.cancel_requested_at.is_not(None),
                RUNS.c.requeue_requested_at.is_not(None),
            ),
        )
    ).all()
    to_stop = [row.id for row in mine if row.cancel_requested_at is not None]
    to_give_back = [
        row.id for row in mine if row.cancel_requested_at is None and row.status == "queued"
    ]
    return Look(rooms, overdue, to_stop, to_give_back)


def end_overdue(connection: Connection, groups: Collection[str] | None, now: datetime) -> int:
    """End the unclaimed runs nobody will carry out in time; how many were ended.

    A cancel asked for while the run was claimed, carried out after it was
    given back, ends ``cancelled``; a run that waited past its group's queue
    timeout (since it was submitted) ends ``timed_out`` with the limiter's
    own sentence.
    """
    ended = connection.execute(
        update(RUNS)
        .where(_unclaimed(groups), RUNS.c.cancel_requested_at.is_not(None))
        .values(
            status="cancelled",
            finished_at=now,
            error=func.coalesce(RUNS.c.stop_sentence, CANCELLED_WHILE_WAITING),
            lease_expires_at=None,
        )
    ).rowcount
    timeouts = connection.execute(
        select(GROUPS.c.name, GROUPS.c.queue_timeout_s).where(GROUPS.c.queue_timeout_s.is_not(None))
    ).all()
    for name, timeout_s in timeouts:
        if groups is not None and group_name_key(name) not in {group_name_key(g) for g in groups}:
            continue
        ended += connection.execute(
            update(RUNS)
            .where(
                _unclaimed(None),
                RUNS.c.group_key == group_name_key(name),
                RUNS.c.enqueued_at < now - timedelta(seconds=timeout_s),
            )
            .values(
                status="timed_out",
                finished_at=now,
                error=str(QueueTimeout(name, timeout_s)),
                lease_expires_at=None,
            )
        ).rowcount
    return ended


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
        select(RUNS.c.group_key)
        .where(RUNS.c.status == "queued", RUNS.c.worker_id.is_not(None), ~has_ticket)
        .distinct()
    )
    return set(rows.scalars())


def _groups_being_reordered(connection: Connection) -> set[str]:
    """Groups with a run asked back that its dispatcher has not given back yet."""
    rows = connection.execute(
        select(RUNS.c.group_key)
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
    """Claim the head runs that can start soon (at most ``most``), leased until ``lease_until``.

    Per group at most what ``_rooms`` allows, counted again inside this
    (serialised) transaction so that two dispatchers cannot both fill the
    same room; across groups in queue order. A group being reordered (an
    admin moved a run to the head and runs are still being given back) is
    claimed once they all are, so they are claimed again in the new order.
    """
    serialise(connection)
    rooms, _ = _rooms(connection, groups, clock(connection))
    blocked = _groups_being_reordered(connection)
    if fleet_order:
        blocked |= _groups_awaiting_tickets(connection)
    for group in blocked:
        rooms.pop(group, None)
    candidates: list[Any] = []  # rows of (id, queue_order, enqueued_at)
    for group, room in rooms.items():
        query = (
            select(RUNS.c.id, *QUEUE_ORDER[:2])
            .where(_unclaimed(None), RUNS.c.group_key == group)
            .order_by(*QUEUE_ORDER)
            .limit(room)
        )
        candidates += connection.execute(query).all()
    candidates.sort(key=lambda row: (row.queue_order, _utc(row.enqueued_at), row.id))
    ids = [row.id for row in candidates[:most]]
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
        .select_from(RUNS.outerjoin(GROUPS, GROUPS.c.name_key == RUNS.c.group_key))
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
