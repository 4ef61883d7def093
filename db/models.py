"""The tables, named so that people and tools can query them directly.

Every numeric rule of a group is also a CHECK constraint, so a row written by
hand or by another tool cannot break the limiter's assumptions. All times are
aware UTC datetimes (``utcnow()``); SQLModel's UTCDateTime stores them as
UTC on SQLite, which has no time zones, and as timestamptz on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

if TYPE_CHECKING:

    class _Table(SQLModel):
        """For the type checker only: SQLModel's stubs leave out the ``__table__`` that every
        table model has, and the SQL Core code here reads it (``Model.__table__.c``)."""

        __table__: ClassVar[Table]

else:
    _Table = SQLModel

GROUP_NAME_MAX = 64
GROUP_NAME_KEY_MAX = 3 * GROUP_NAME_MAX
"""Case folding can lengthen a name (``ß`` folds to ``ss``), at most threefold per character."""
GUEST_NAME_MAX = 40
TASK_KEY_MAX = 64
RUN_STATUSES = (
    "queued",
    "running",
    "succeeded",
    "failed",
    "cancelled",
    "timed_out",
    "rejected",
    "lost",
)
FINISHED_STATUSES = RUN_STATUSES[2:]
ACTIVE_STATUSES = RUN_STATUSES[:2]


def utcnow() -> datetime:
    """The current time in UTC, the one convention for every stored time."""
    return datetime.now(UTC)


def group_name_key(name: str) -> str:
    """The form of a group name that two names share when they count as the same group.

    Python's ``casefold()``, stored in ``concurrency_group.name_key`` under a
    unique index, so the database itself refuses ``äx`` beside ``Äx``: SQL's
    ``lower()`` folds only ASCII letters on SQLite and depends on the
    collation on PostgreSQL, so no SQL expression can serve as the key.
    """
    return name.casefold()


def _name_key_default(context) -> str:
    return group_name_key(context.get_current_parameters()["name"])


def _group_key_default(context) -> str:
    return group_name_key(context.get_current_parameters()["group_name"])


def _status_check() -> str:
    return "status IN (" + ", ".join(f"'{s}'" for s in RUN_STATUSES) + ")"


class ConcurrencyGroup(_Table, table=True):
    """A named group of slots: at most ``limit`` runs at once, the rest wait in FIFO order."""

    __tablename__ = "concurrency_group"
    __table_args__ = (
        CheckConstraint('"limit" >= 1', name="ck_group_limit"),
        CheckConstraint("max_queue IS NULL OR max_queue >= 0", name="ck_group_max_queue"),
        CheckConstraint(
            "queue_timeout_s IS NULL OR queue_timeout_s > 0", name="ck_group_queue_timeout"
        ),
        CheckConstraint(
            "per_owner_limit IS NULL OR per_owner_limit >= 1", name="ck_group_per_owner_limit"
        ),
        CheckConstraint("max_run_s IS NULL OR max_run_s > 0", name="ck_group_max_run"),
        CheckConstraint(
            f"length(name) BETWEEN 1 AND {GROUP_NAME_MAX}", name="ck_group_name_length"
        ),
        CheckConstraint("version >= 1", name="ck_group_version"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=GROUP_NAME_MAX)
    # Filled from ``name`` when a row is inserted without it; a rename must set both.
    name_key: str = Field(
        default=None,
        max_length=GROUP_NAME_KEY_MAX,
        nullable=False,
        sa_column_kwargs={"default": _name_key_default},
    )
    limit: int = 1
    paused: bool = False
    max_queue: int | None = None
    queue_timeout_s: float | None = None
    per_owner_limit: int | None = None
    max_run_s: float | None = None
    description: str = ""
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by: str = "system"


# Names are unique ignoring case: the database refuses a second row with the same key.
Index("uq_group_name_key", ConcurrencyGroup.__table__.c.name_key, unique=True)


class TaskRun(_Table, table=True):
    """One run, durable from request to outcome: queued, running, then a final status.

    The queue order of a group is ``(queue_order, enqueued_at, id)``: every
    run starts at ``queue_order`` 0 and an admin's "move to the head" gives
    one a lower number (core/worker/run_admin.py). A queued run is
    claimed by one dispatcher (``worker_id``), which then holds a lease on it
    (``lease_expires_at``) and renews it while the run is queued or running;
    a run whose lease ran out is found by any process's sweep (core/worker/store.py).
    ``cancel_requested_at`` is a request; the dispatcher that holds the run
    carries it out and writes the final status.
    """

    __tablename__ = "task_run"
    __table_args__ = (
        CheckConstraint(_status_check(), name="ck_run_status"),
        CheckConstraint(
            "progress_fraction IS NULL OR (progress_fraction >= 0 AND progress_fraction <= 1)",
            name="ck_run_progress",
        ),
        Index("ix_task_run_group_enqueued", "group_name", "enqueued_at"),
        Index("ix_task_run_group_key_enqueued", "group_key", "enqueued_at"),
        Index("ix_task_run_owner_enqueued", "owner", "enqueued_at"),
        Index("ix_task_run_status", "status"),
        Index("ix_task_run_worker", "worker_id"),
    )

    id: str = Field(primary_key=True, max_length=32)
    group_name: str = Field(max_length=GROUP_NAME_MAX)
    # Filled from ``group_name`` on insert; what queue queries match (never SQL ``lower()``).
    group_key: str = Field(
        default=None,
        max_length=GROUP_NAME_KEY_MAX,
        nullable=False,
        sa_column_kwargs={"default": _group_key_default},
    )
    task: str = ""
    owner: str = ""
    params: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    inputs: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    """Inputs that are not plain settings (an uploaded image), in the result codec's form:
    ``params`` records them by their size only, and the worker needs them whole."""
    status: str = "queued"
    enqueued_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    host: str = ""
    pid: int = 0
    progress_fraction: float | None = None
    progress_message: str | None = None
    device: str = ""
    worker_id: str | None = Field(default=None, max_length=32)
    lease_expires_at: datetime | None = None
    cancel_requested_at: datetime | None = None
    cancelled_by: str | None = None
    queue_order: float = 0.0
    requeue_requested_at: datetime | None = None
    """Set on a claimed, still waiting run when an admin reorders its queue: its dispatcher
    gives it back so that runs are claimed (and enter the limiter) in the new order."""
    admin_note: str | None = None
    """The latest admin action on the run, as its owner reads it ("Moved to the head of
    the queue by admin alice at 14:02 UTC.")."""
    stop_sentence: str | None = None
    """What the owner reads if the cancel asked for lands (an admin's action), e.g.
    "Cancelled by admin alice at 14:02 UTC."; the dispatcher's own sentence otherwise."""


class RunResult(_Table, table=True):
    """A succeeded run's result, encoded by core/worker/codec.py; deleted with its run."""

    __tablename__ = "run_result"

    run_id: str = Field(
        sa_column=Column(
            String(32), ForeignKey("task_run.id", ondelete="CASCADE"), primary_key=True
        )
    )
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    size: int


class Worker(_Table, table=True):
    """One dispatcher process: where it runs, what it serves, and whether it is alive.

    ``heartbeat_at`` is renewed with its runs' leases; ``stopped_at`` is set
    on a clean stop. Rows are kept for the admin's view of workers.
    """

    __tablename__ = "worker"

    id: str = Field(primary_key=True, max_length=32)
    host: str = ""
    pid: int = 0
    device: str = ""
    groups: list[str] | None = Field(default=None, sa_column=Column(JSON))
    capacity: int | None = None
    started_at: datetime = Field(default_factory=utcnow)
    heartbeat_at: datetime = Field(default_factory=utcnow)
    stopped_at: datetime | None = None
    gpu_memory_used: int | None = Field(default=None, sa_column=Column(BigInteger))
    gpu_memory_total: int | None = Field(default=None, sa_column=Column(BigInteger))
    gpu_utilization: float | None = None
    """Bytes in use / in total and percent busy, written with each heartbeat; None where
    the device reports none (the CPU, or utilisation without NVML)."""


class OccupancySample(_Table, table=True):
    """What one group looked like at one instant; the charts are made of these."""

    __tablename__ = "occupancy_sample"
    __table_args__ = (Index("ix_occupancy_group_ts", "group_name", "ts"),)

    id: int | None = Field(default=None, primary_key=True)
    ts: datetime = Field(default_factory=utcnow, index=True)
    group_name: str = Field(max_length=GROUP_NAME_MAX)
    limit: int
    running: int
    queued: int


class OccupancyMinute(_Table, table=True):
    """One group's peaks in one minute (``minute`` is its start), rolled up from the samples.

    The sampler raises these maxima in the same transaction as each sample it
    writes, so the day and week charts read one row per group per minute
    instead of sixty samples.
    """

    __tablename__ = "occupancy_minute"

    group_name: str = Field(primary_key=True, max_length=GROUP_NAME_MAX)
    minute: datetime = Field(primary_key=True, index=True)
    max_running: int
    max_queued: int
    max_limit: int


class AuditEvent(_Table, table=True):
    """Who changed what and when, with the group's state before and after."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    ts: datetime = Field(default_factory=utcnow, index=True)
    actor: str
    action: str
    group_name: str = Field(max_length=GROUP_NAME_MAX)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class AppSetting(_Table, table=True):
    """Small named values the app keeps for itself, e.g. the generated admin password's hash."""

    __tablename__ = "app_setting"

    key: str = Field(primary_key=True, max_length=64)
    value: str
    updated_at: datetime = Field(default_factory=utcnow)


class GuestProfile(_Table, table=True):
    """The name a guest chose to be shown by, keyed by their guest owner id."""

    __tablename__ = "guest_profile"

    owner: str = Field(primary_key=True, max_length=64)
    display_name: str = Field(max_length=GUEST_NAME_MAX)
    updated_at: datetime = Field(default_factory=utcnow)


class LimiterTicket(_Table, table=True):
    """A request's place in the fleet-wide limiter (``TASKGATE_LIMITER=shared``).

    The id is the ticket number: a group's queue is its waiting tickets in id
    order, so it is strictly increasing (AUTOINCREMENT on SQLite, a sequence on
    PostgreSQL) and never reused. A ticket lives only while its request is
    waiting or running; ``holder`` (one limiter in one process) renews
    ``lease_expires_at`` while it lives, and any process deletes a ticket whose
    lease ran out, so a crashed process cannot hold slots for ever. Deleting a
    group deletes its tickets.
    """

    __tablename__ = "limiter_ticket"
    __table_args__ = (
        CheckConstraint("state IN ('waiting', 'running')", name="ck_ticket_state"),
        UniqueConstraint("run_id", name="uq_limiter_ticket_run_id"),
        Index("ix_limiter_ticket_group_state", "group_id", "state", "id"),
        Index("ix_limiter_ticket_lease", "lease_expires_at"),
        Index("ix_limiter_ticket_holder", "holder"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(max_length=32)
    group_id: int = Field(foreign_key="concurrency_group.id", ondelete="CASCADE")
    owner: str = ""
    task: str = ""
    params: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    state: str = "waiting"
    enqueued_at: datetime = Field(default_factory=utcnow)
    granted_at: datetime | None = None
    lease_expires_at: datetime
    host: str = ""
    pid: int = 0
    holder: str = Field(max_length=32)


class TaskGroup(_Table, table=True):
    """Which group a task's runs go through, as the admin decided (seeded from its default).

    The group is referenced by id, so renaming a group carries its tasks along; a
    group that tasks still point at cannot be deleted until they are moved.
    """

    __tablename__ = "task_group"

    task_key: str = Field(primary_key=True, max_length=TASK_KEY_MAX)
    group_id: int = Field(foreign_key="concurrency_group.id", index=True)
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by: str = "system"
