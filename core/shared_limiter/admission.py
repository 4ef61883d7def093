"""Who gets a slot: each function is the body of one write transaction.

The caller runs them inside ``LimiterDatabase.write()``; each locks the
group first (``store.lock_group``), so its reads and writes decide for the
whole fleet at once and cannot overshoot a limit however many processes
race. Every transaction that changes a group also admits: a release hands
its slot to the head of the queue in the same commit, so the next waiter in
any process is already running when it looks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Connection

from core.limiter import CREATED_ON_FIRST_USE, GroupConfig, LimiterError, RunInfo, policy
from core.shared_limiter import store
from core.shared_limiter.rows import GroupState, Ticket
from core.shared_limiter.store import Locked
from core.shared_limiter.waiters import WaitView, view_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    """What a transaction did: the group it touched (None: nothing) and the tickets it granted."""

    group_id: int | None = None
    granted: tuple[Ticket, ...] = ()


@dataclass(frozen=True)
class Entry(Change):
    """The outcome of asking for a slot."""

    ticket_id: int | None = None
    view: WaitView | None = None
    """Where the ticket waits; None if it runs at once (or was refused)."""
    created: GroupConfig | None = None
    refusal: LimiterError | None = None


def admit_locked(connection: Connection, group: GroupState, now: datetime) -> tuple[Ticket, ...]:
    """Reclaim dead leases, then grant free slots to the head of the queue, in ticket order.

    Returns the granted tickets. Reclaimed requests are recorded as lost.
    """
    expired = [ticket for ticket in group.tickets if ticket.expired(now)]
    if expired:
        store.delete_tickets(connection, [ticket.id for ticket in expired])
        store.mark_runs_lost(connection, expired, now)
        log.warning(
            "reclaimed %d expired ticket(s) in group %s from %s",
            len(expired),
            group.config.name,
            ", ".join(sorted({f"{t.host}/{t.pid}" for t in expired})),
        )
        group = replace(group, tickets=tuple(t for t in group.tickets if t not in expired))
    heads = tuple(group.waiting[: policy.free_slots(group.config, len(group.running))])
    store.grant(connection, [ticket.id for ticket in heads], now)
    return heads


def admit(connection: Connection, group_id: int) -> Change:
    """Admit in a group whose state someone else left needing it (a dead lease, a hand edit)."""
    locked = store.lock_group(connection, group_id=group_id)
    if locked is None:
        return Change()
    group = store.read_group(connection, group_id)
    if not group.needs_admission(locked.now):
        return Change()
    return Change(group_id, admit_locked(connection, group, locked.now))


def enqueue(
    connection: Connection, run: RunInfo, default_limit: int, holder: str, lease: timedelta
) -> Entry:
    """Give ``run`` a ticket: running at once, waiting, or refused (``Entry.refusal``).

    A refusal is returned, not raised, so that a group created on first use
    is committed even when the request itself is turned away. ``run.group``
    becomes the group's display name.
    """
    locked, created = _lock_or_create(connection, run.group, default_limit)
    now = locked.now
    group = store.read_group(connection, locked.id)
    granted = admit_locked(connection, group, now)
    if group.needs_admission(now):
        group = store.read_group(connection, locked.id)
    run.group = group.config.name
    queued, running = len(group.waiting), len(group.running)
    owner_has = group.owner_count(run.owner)
    refusal = policy.refusal(group.config, owner_has=owner_has, queued=queued, running=running)
    if refusal is not None:
        return Entry(locked.id, granted, created=created, refusal=refusal)
    start = policy.starts_now(group.config, queued, running)
    ticket = store.insert_ticket(
        connection,
        run,
        group_id=locked.id,
        running=start,
        now=now,
        lease_expires_at=now + lease,
        holder=holder,
    )
    if start:
        return Entry(locked.id, granted, ticket.id, created=created)
    with_ticket = replace(group, tickets=(*group.tickets, ticket))
    return Entry(locked.id, granted, ticket.id, view_of(with_ticket, ticket.id, now), created)


def _lock_or_create(
    connection: Connection, name: str, default_limit: int
) -> tuple[Locked, GroupConfig | None]:
    """The group, locked; and its config if this transaction created it."""
    config = GroupConfig(
        name=name, limit=default_limit, description=CREATED_ON_FIRST_USE, version=1
    )
    locked, created = store.lock_or_insert_group(connection, config)
    return locked, config if created else None


def leave(connection: Connection, ticket_id: int, group_id: int) -> Change:
    """Give a ticket back, whether it was waiting or running, and pass any freed slot on."""
    locked = store.lock_group(connection, group_id=group_id)
    store.delete_tickets(connection, [ticket_id])
    if locked is None:
        return Change()
    group = store.read_group(connection, group_id)
    return Change(group_id, admit_locked(connection, group, locked.now))


def configure(connection: Connection, config: GroupConfig) -> Change:
    """Store a group's settings and admit whoever they let in.

    A config that carries a version (one read from the database) is stored
    as it is; one without (version 0, made in code) bumps the row's version so
    every process can tell the group changed. Settings equal to the stored
    ones write nothing, so re-applying what was read is free.
    """
    locked, _ = store.lock_or_insert_group(connection, config)
    group = store.read_group(connection, locked.id)
    current = group.config
    wanted = config if config.version else replace(config, version=current.version)
    if wanted != current:
        stored = wanted if config.version else replace(config, version=current.version + 1)
        store.update_group(connection, locked.id, stored, locked.now)
        group = store.read_group(connection, locked.id)
    return Change(locked.id, admit_locked(connection, group, locked.now))


def remove(connection: Connection, name: str) -> Change:
    """Delete a group and, with it, its queue; its waiters find out they were removed."""
    return Change(store.delete_group(connection, name))
