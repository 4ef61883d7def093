"""The tables, named so that people and tools can query them directly.

Every numeric rule of a group is also a CHECK constraint, so a row written by
hand or by another tool cannot break the limiter's assumptions. All times are
aware UTC datetimes (``utcnow()``); SQLModel's UTCDateTime stores them as
UTC on SQLite, which has no time zones, and as timestamptz on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
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
RUN_SOURCE_PAGE = "page"
RUN_SOURCE_API = "api"
API_TOKEN_NAME_MAX = 80


class RunStatus(StrEnum):
    """Where a run is in its life: active (queued, running), then exactly one final status."""

    QUEUED = "queued"
    """Waiting for a slot, or granted one and starting (``worker_id`` set)."""
    RUNNING = "running"
    """Its body runs."""
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    """Someone cancelled it (its owner, an admin, or its page stopped)."""
    TIMED_OUT = "timed_out"
    """It waited past the queue timeout or ran past the run-time cap."""
    REJECTED = "rejected"
    """Its group went away before it started."""
    LOST = "lost"
    """Its body was running when the process running it died or stopped."""


RUN_STATUSES = tuple(RunStatus)
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

    This table is the queue. The queue order of a group is ``(queue_order,
    enqueued_at, id)``: every run starts at ``queue_order`` 0 and an admin's
    "move to the head" gives one a lower number. A run holds one of its
    group's slots from its grant (``worker_id``: the process that executes it,
    still ``queued`` until its body starts) to its final status; that process
    renews its lease (``lease_expires_at``), and the sweep records a run whose
    lease ran out ``lost`` if its body ran, or gives it back to the queue in
    its place if not (core/runs/sql.py). ``cancel_requested_at`` is a request
    the executing process carries out.
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
    granted_at: datetime | None = None
    """When the run was granted its slot (its wait ended); None while it waits."""
    held_by: str | None = Field(default=None, max_length=32)
    """The process whose page code runs this run (``hold_slot``): only it may be granted
    the run, and it runs the body on the page's thread. None for a task run."""
    admin_note: str | None = None
    """The latest admin action on the run, as its owner reads it ("Moved to the head of
    the queue by admin alice at 14:02 UTC.")."""
    stop_sentence: str | None = None
    """What the owner reads if the cancel asked for lands (an admin's action), e.g.
    "Cancelled by admin alice at 14:02 UTC."; the dispatcher's own sentence otherwise."""
    source: str = Field(
        default=RUN_SOURCE_PAGE,
        max_length=8,
        sa_column_kwargs={"server_default": RUN_SOURCE_PAGE},
    )
    """How the run was asked for: "page" (a page, own code) or "api" (an API token)."""


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


class ApiToken(_Table, table=True):
    """A personal API token: only its SHA-256 is kept; it acts as the person who made it.

    The person's name, e-mail and subject are kept as they were when it was made,
    so an admin's token is checked against ``TASKGATE_ADMINS`` at each use and the
    audit log names its owner as the pages do.
    """

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    owner: str = Field(max_length=64, index=True)
    name: str = Field(max_length=API_TOKEN_NAME_MAX)
    hash: str = Field(max_length=64, unique=True, index=True)
    person_name: str = ""
    person_email: str | None = None
    person_subject: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
