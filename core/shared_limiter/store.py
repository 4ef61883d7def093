"""The SQL of the shared limiter: every statement it runs on the two tables it uses.

Groups are the ``concurrency_group`` rows the admin edits (the fleet's one
source of truth for limits); slots and queues are ``limiter_ticket`` rows.
Names are matched on ``name_key`` (``db.models.group_name_key``), the
column of the table's unique index. Functions that change a group expect to run inside
``LimiterDatabase.write()`` after ``lock_group``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Row, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from core.limiter import GroupConfig, RunInfo
from core.limiter.config import config_of, settings_of
from core.shared_limiter.rows import GroupState, Ticket
from db.models import ConcurrencyGroup, LimiterTicket, TaskRun, group_name_key, utcnow

GROUPS = ConcurrencyGroup.__table__
TICKETS = LimiterTicket.__table__
RUNS = TaskRun.__table__

_TICKET_PREFIX = "ticket_"


def _by_name(name: str):
    return GROUPS.c.name_key == group_name_key(name)


def clock(connection: Connection) -> datetime:
    """The time leases are judged by: the database's clock on PostgreSQL, as hosts' clocks
    may differ; this host's on SQLite, whose processes all run on this host."""
    if connection.dialect.name == "postgresql":
        return connection.execute(select(func.clock_timestamp())).scalar_one()
    return utcnow()


class Locked(NamedTuple):
    """A group whose row this transaction has locked, and the time the lock was obtained."""

    id: int
    now: datetime


def lock_group(
    connection: Connection, *, name: str | None = None, group_id: int | None = None
) -> Locked | None:
    """Lock the group's row until commit (PostgreSQL); None if there is no such group.

    Every transaction that changes a group's tickets takes this lock first,
    which serializes admission per group across the fleet and gives every
    transaction the same lock order (group, then tickets). The time is read
    once the lock is held (by a statement of its own: a column of the locking
    SELECT would be computed before waiting for the lock), so grant times
    follow the order of the grants.
    """
    query = select(GROUPS.c.id).with_for_update()
    query = query.where(_by_name(name) if name is not None else GROUPS.c.id == group_id)
    locked_id = connection.execute(query).scalar_one_or_none()
    return None if locked_id is None else Locked(locked_id, clock(connection))


def insert_group(connection: Connection, config: GroupConfig) -> bool:
    """Create the group unless a group of that name exists (race-safe); True if this created it."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    now = utcnow()
    values = {
        **_config_values(config),
        "version": max(config.version, 1),
        "created_at": now,
        "updated_at": now,
        "updated_by": "system",
    }
    statement = (
        dialect.insert(GROUPS).values(**values).on_conflict_do_nothing().returning(GROUPS.c.id)
    )
    return connection.execute(statement).scalar_one_or_none() is not None


def lock_or_insert_group(connection: Connection, config: GroupConfig) -> tuple[Locked, bool]:
    """The group's row, locked, inserted first if there was none; and whether this inserted it."""
    locked = lock_group(connection, name=config.name)
    if locked is not None:
        return locked, False
    created = insert_group(connection, config)
    locked = lock_group(connection, name=config.name)
    if locked is None:  # deleted by another transaction between the insert and the lock
        raise LookupError(f"Group {config.name} was removed while it was being created.")
    return locked, created


def update_group(connection: Connection, group_id: int, config: GroupConfig, now: datetime) -> None:
    values = {**_config_values(config), "version": config.version, "updated_at": now}
    connection.execute(update(GROUPS).where(GROUPS.c.id == group_id).values(**values))


def delete_group(connection: Connection, name: str) -> int | None:
    """Delete the group (its tickets go with it, by foreign key); its id, or None if none."""
    statement = delete(GROUPS).where(_by_name(name)).returning(GROUPS.c.id)
    return connection.execute(statement).scalar_one_or_none()


def _config_values(config: GroupConfig) -> dict[str, object]:
    return {"name": config.name, "name_key": group_name_key(config.name), **settings_of(config)}


def find_group(connection: Connection, name: str) -> GroupConfig | None:
    row = connection.execute(select(GROUPS).where(_by_name(name))).first()
    return None if row is None else config_of(row)


def group_configs(connection: Connection) -> list[GroupConfig]:
    """Every group's settings, in the order the groups were created."""
    rows = connection.execute(select(GROUPS).order_by(GROUPS.c.id)).all()
    return [config_of(row) for row in rows]


def read_groups(
    connection: Connection, group_ids: Iterable[int] | None = None
) -> dict[int, GroupState]:
    """Groups with their tickets, by id, in creation order; all of them unless ``group_ids``.

    One statement (groups outer-joined to tickets), so even without a
    transaction the counts, queue and settings are from one instant.
    """
    ticket_columns = [column.label(_TICKET_PREFIX + column.name) for column in TICKETS.c]
    query = (
        select(GROUPS, *ticket_columns)
        .select_from(GROUPS.outerjoin(TICKETS, TICKETS.c.group_id == GROUPS.c.id))
        .order_by(GROUPS.c.id, TICKETS.c.id)
    )
    if group_ids is not None:
        query = query.where(GROUPS.c.id.in_(list(group_ids)))
    configs: dict[int, GroupConfig] = {}
    tickets: dict[int, list[Ticket]] = {}
    for row in connection.execute(query):
        if row.id not in configs:
            configs[row.id] = config_of(row)
            tickets[row.id] = []
        if row.ticket_id is not None:
            tickets[row.id].append(_ticket(row))
    return {gid: GroupState(gid, configs[gid], tuple(tickets[gid])) for gid in configs}


def read_group(connection: Connection, group_id: int) -> GroupState:
    return read_groups(connection, [group_id])[group_id]


def _ticket(row: Row) -> Ticket:
    mapping = row._mapping
    return Ticket(**{field.name: mapping[_TICKET_PREFIX + field.name] for field in fields(Ticket)})


def insert_ticket(
    connection: Connection,
    run: RunInfo,
    *,
    group_id: int,
    running: bool,
    now: datetime,
    lease_expires_at: datetime,
    holder: str,
) -> Ticket:
    """Add a request to the group's queue (or straight to its running set)."""
    values: dict[str, Any] = {
        "run_id": run.id,
        "group_id": group_id,
        "owner": run.owner,
        "task": run.task,
        "params": run.params,
        "state": "running" if running else "waiting",
        "enqueued_at": datetime.fromtimestamp(run.enqueued_at, UTC),
        "granted_at": now if running else None,
        "lease_expires_at": lease_expires_at,
        "host": run.host,
        "pid": run.pid,
        "holder": holder,
    }
    statement = insert(TICKETS).values(**values).returning(TICKETS.c.id)
    return Ticket(id=connection.execute(statement).scalar_one(), **values)


def grant(connection: Connection, ticket_ids: Sequence[int], now: datetime) -> None:
    if ticket_ids:
        connection.execute(
            update(TICKETS)
            .where(TICKETS.c.id.in_(ticket_ids))
            .values(state="running", granted_at=now)
        )


def delete_tickets(connection: Connection, ticket_ids: Sequence[int]) -> None:
    if ticket_ids:
        connection.execute(delete(TICKETS).where(TICKETS.c.id.in_(ticket_ids)))


def mark_runs_lost(connection: Connection, tickets: Sequence[Ticket], now: datetime) -> None:
    """Record reclaimed requests as lost: nobody is left to record how they ended."""
    for ticket in tickets:
        connection.execute(
            update(RUNS)
            .where(RUNS.c.id == ticket.run_id, RUNS.c.status.in_(("queued", "running")))
            .values(
                status="lost",
                finished_at=now,
                error=(
                    f"The process running it ({ticket.host}, pid {ticket.pid}) stopped "
                    "renewing its lease."
                ),
            )
        )


def renew(connection: Connection, holder: str, ticket_ids: Sequence[int], until: datetime) -> None:
    """Extend the leases of a holder's live tickets.

    Rows another transaction has locked are skipped (PostgreSQL; SQLite has
    one writer anyway): waiting for them could deadlock with an admission
    that holds them, and the next heartbeat renews them well before expiry.
    """
    if not ticket_ids:
        return
    free = (
        select(TICKETS.c.id)
        .where(TICKETS.c.holder == holder, TICKETS.c.id.in_(ticket_ids))
        .with_for_update(skip_locked=True)
    )
    connection.execute(update(TICKETS).where(TICKETS.c.id.in_(free)).values(lease_expires_at=until))


def groups_with_expired_tickets(connection: Connection, now: datetime) -> list[int]:
    query = select(TICKETS.c.group_id).where(TICKETS.c.lease_expires_at < now).distinct()
    return list(connection.execute(query).scalars())
