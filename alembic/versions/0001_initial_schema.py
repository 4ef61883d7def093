"""Initial schema: groups, runs, occupancy samples, audit events; seeds groups A and B.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ts", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("group_name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_ts"), ["ts"], unique=False)

    op.create_table(
        "concurrency_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("limit", sa.Integer(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("max_queue", sa.Integer(), nullable=True),
        sa.Column("queue_timeout_s", sa.Float(), nullable=True),
        sa.Column("per_owner_limit", sa.Integer(), nullable=True),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.CheckConstraint('"limit" >= 1', name="ck_group_limit"),
        sa.CheckConstraint("length(name) BETWEEN 1 AND 64", name="ck_group_name_length"),
        sa.CheckConstraint("max_queue IS NULL OR max_queue >= 0", name="ck_group_max_queue"),
        sa.CheckConstraint(
            "per_owner_limit IS NULL OR per_owner_limit >= 1", name="ck_group_per_owner_limit"
        ),
        sa.CheckConstraint(
            "queue_timeout_s IS NULL OR queue_timeout_s > 0", name="ck_group_queue_timeout"
        ),
        sa.CheckConstraint("version >= 1", name="ck_group_version"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "occupancy_sample",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ts", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("group_name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("limit", sa.Integer(), nullable=False),
        sa.Column("running", sa.Integer(), nullable=False),
        sa.Column("queued", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("occupancy_sample", schema=None) as batch_op:
        batch_op.create_index("ix_occupancy_group_ts", ["group_name", "ts"], unique=False)
        batch_op.create_index(batch_op.f("ix_occupancy_sample_ts"), ["ts"], unique=False)

    op.create_table(
        "task_run",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("group_name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("task", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("enqueued_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("host", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out', 'rejected', 'lost')",
            name="ck_run_status",
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("task_run", schema=None) as batch_op:
        batch_op.create_index(
            "ix_task_run_group_enqueued", ["group_name", "enqueued_at"], unique=False
        )
        batch_op.create_index("ix_task_run_owner_enqueued", ["owner", "enqueued_at"], unique=False)
        batch_op.create_index("ix_task_run_status", ["status"], unique=False)
    op.create_index("uq_group_name_ci", "concurrency_group", [sa.text("lower(name)")], unique=True)
    _seed_groups()


def _seed_groups() -> None:
    """A new installation starts with groups A and B, one slot each."""
    now = datetime.now(UTC)
    groups = sa.table(
        "concurrency_group",
        sa.column("name", sa.String),
        sa.column("limit", sa.Integer),
        sa.column("paused", sa.Boolean),
        sa.column("description", sa.String),
        sa.column("version", sa.Integer),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
        sa.column("updated_by", sa.String),
    )
    op.bulk_insert(
        groups,
        [
            {
                "name": name,
                "limit": 1,
                "paused": False,
                "description": "",
                "version": 1,
                "created_at": now,
                "updated_at": now,
                "updated_by": "system",
            }
            for name in ("A", "B")
        ],
    )


def downgrade() -> None:
    op.drop_index("uq_group_name_ci", table_name="concurrency_group")
    with op.batch_alter_table("task_run", schema=None) as batch_op:
        batch_op.drop_index("ix_task_run_status")
        batch_op.drop_index("ix_task_run_owner_enqueued")
        batch_op.drop_index("ix_task_run_group_enqueued")

    op.drop_table("task_run")
    with op.batch_alter_table("occupancy_sample", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_occupancy_sample_ts"))
        batch_op.drop_index("ix_occupancy_group_ts")

    op.drop_table("occupancy_sample")
    op.drop_table("concurrency_group")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_ts"))

    op.drop_table("audit_event")
