"""What the admin's live view reads about the fleet: workers, and every queue in order.

Two queries per refresh, whatever the number of runs: the workers that have
not stopped (with their runs now counted in the same query), and the
active runs of every group in queue order, each with its owner's name as
people read it (a guest's chosen name comes in the same query).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, overload

from sqlalchemy import Connection, func, select

from core.identity import GUEST_PREFIX, USER_PREFIX, guest_label
from core.runs.sql import QUEUE_ORDER, RUNS, WORKERS
from db.models import GuestProfile, RunStatus, group_name_key

PROFILES = GuestProfile.__table__

STOPPED_SHOWN_S = 600.0
"""A worker that stopped answering stays listed this long (as "not answering"), then drops off."""


@overload
def _aware(moment: datetime) -> datetime: ...


@overload
def _aware(moment: datetime | None) -> datetime | None: ...


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class WorkerRow:
    host: str
    pid: int
    device: str
    groups: list[str] | None
    capacity: int | None
    running: int
    heartbeat_at: datetime
    gpu_memory_used: int | None
    gpu_memory_total: int | None
    gpu_utilization: float | None


def workers(connection: Connection, now: datetime) -> list[WorkerRow]:
    running = (
        select(func.count())
        .where(RUNS.c.worker_id == WORKERS.c.id, RUNS.c.status == RunStatus.RUNNING)
        .scalar_subquery()
    )
    rows = connection.execute(
        select(WORKERS, running.label("running"))
        .where(WORKERS.c.stopped_at.is_(None))
        .order_by(WORKERS.c.host, WORKERS.c.started_at)
    ).all()
    out = []
    for row in rows:
        beat = _aware(row.heartbeat_at)
        if (now - beat).total_seconds() > STOPPED_SHOWN_S:
            continue
        out.append(
            WorkerRow(
                row.host,
                row.pid,
                row.device,
                row.groups,
                row.capacity,
                int(row.running),
                beat,
                row.gpu_memory_used,
                row.gpu_memory_total,
                row.gpu_utilization,
            )  # fmt: skip
        )
    return out


def owner_label(owner: str, chosen: str | None = None) -> str:
    """An owner id as people read it: a guest's chosen name, else a short label.

    Signed-in people's names are not stored with their runs (only their
    stable id), so they read as "signed-in user" and the id's first digits,
    enough to tell two apart in one queue.
    """
    if chosen:
        return chosen
    if owner.startswith(GUEST_PREFIX):
        return guest_label(owner)
    if owner.startswith(USER_PREFIX):
        return f"signed-in user {owner.removeprefix(USER_PREFIX)[:6]}"
    return owner or "nobody"


@dataclass(frozen=True)
class QueuedRow:
    id: str
    group: str
    position: int | None
    """1-based place in its group's queue; None while running."""
    status: str
    task: str
    owner: str
    owner_name: str
    """``owner`` as people read it (``owner_label``)."""
    params: dict[str, Any]
    host: str
    device: str
    since: datetime
    cancelling: bool


def active_runs(connection: Connection) -> list[QueuedRow]:
    """Every queued and running run: running first, then each group's queue head first."""
    rows = connection.execute(
        select(
            RUNS.c.id, RUNS.c.group_name, RUNS.c.status, RUNS.c.task, RUNS.c.owner,
            RUNS.c.params, RUNS.c.host, RUNS.c.device, RUNS.c.enqueued_at,
            RUNS.c.started_at, RUNS.c.cancel_requested_at, PROFILES.c.display_name,
        )
        .select_from(RUNS.outerjoin(PROFILES, PROFILES.c.owner == RUNS.c.owner))
        .where(RUNS.c.status.in_((RunStatus.QUEUED, RunStatus.RUNNING)))
        .order_by(*QUEUE_ORDER)
    ).all()  # fmt: skip
    places: dict[str, int] = {}
    out = []
    for row in rows:
        position = None
        if row.status == RunStatus.QUEUED and row.cancel_requested_at is None:
            key = group_name_key(row.group_name)
            places[key] = position = places.get(key, 0) + 1
        out.append(
            QueuedRow(
                row.id,
                row.group_name,
                position,
                row.status,
                row.task,
                row.owner,
                owner_label(row.owner, row.display_name),
                dict(row.params or {}),
                row.host,
                row.device,
                _aware(row.started_at if row.status == RunStatus.RUNNING else row.enqueued_at),
                row.cancel_requested_at is not None,
            )  # fmt: skip
        )
    return sorted(
        out, key=lambda r: (group_name_key(r.group), r.position is not None, r.position or 0)
    )
