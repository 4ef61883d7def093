"""Durable runs: task_run grows progress, lease and cancel columns; run_result and worker tables.

Runs left queued or running before this revision belonged to a page's script
thread and cannot be resumed by a worker, so they are recorded lost.

Revision ID: 0005
Revises: 0004_name_key
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004_name_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "UPDATE task_run SET status = 'lost', finished_at = CURRENT_TIMESTAMP, "
        "error = 'The server process stopped.' WHERE status IN ('queued', 'running')"
    )
    with op.batch_alter_table("task_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("progress_fraction", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("progress_message", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "device", sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default=""
            )
        )
        batch_op.add_column(
            sa.Column("worker_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch_op.add_column(
            sa.Column("lease_expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("cancel_requested_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("cancelled_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
        batch_op.create_check_constraint(
            "ck_run_progress",
            "progress_fraction IS NULL OR (progress_fraction >= 0 AND progress_fraction <= 1)",
        )
        batch_op.create_index("ix_task_run_worker", ["worker_id"], unique=False)
    with op.batch_alter_table("task_run", schema=None) as batch_op:
        batch_op.alter_column("device", server_default=None)
    op.create_table(
        "run_result",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["task_run.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id"),
    )
    op.create_table(
        "worker",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("host", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("device", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("stopped_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("worker")
    op.drop_table("run_result")
    with op.batch_alter_table("task_run", schema=None) as batch_op:
        batch_op.drop_index("ix_task_run_worker")
        batch_op.drop_constraint("ck_run_progress", type_="check")
        batch_op.drop_column("cancelled_by")
        batch_op.drop_column("cancel_requested_at")
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("worker_id")
        batch_op.drop_column("device")
        batch_op.drop_column("progress_message")
        batch_op.drop_column("progress_fraction")
