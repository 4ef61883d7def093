"""Workers and admin actions: a run-time cap per group, queue order, workers' GPU figures.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ADD/DROP COLUMN, never batch mode: on SQLite batch mode copies a table and
# drops the original, and with foreign keys on, dropping concurrency_group would
# delete its queued tickets and dropping task_run its stored results (cascades).


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE concurrency_group ADD COLUMN max_run_s FLOAT "
            "CONSTRAINT ck_group_max_run CHECK (max_run_s IS NULL OR max_run_s > 0)"
        )
    else:
        op.add_column("concurrency_group", sa.Column("max_run_s", sa.Float(), nullable=True))
        op.create_check_constraint(
            "ck_group_max_run", "concurrency_group", "max_run_s IS NULL OR max_run_s > 0"
        )
    op.add_column(
        "task_run", sa.Column("queue_order", sa.Float(), nullable=False, server_default="0")
    )
    op.add_column(
        "task_run",
        sa.Column("requeue_requested_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    )
    op.add_column(
        "task_run", sa.Column("stop_sentence", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
    )
    op.add_column(
        "task_run", sa.Column("admin_note", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
    )
    op.add_column("worker", sa.Column("gpu_memory_used", sa.BigInteger(), nullable=True))
    op.add_column("worker", sa.Column("gpu_memory_total", sa.BigInteger(), nullable=True))
    op.add_column("worker", sa.Column("gpu_utilization", sa.Float(), nullable=True))


def downgrade() -> None:
    for column in ("gpu_utilization", "gpu_memory_total", "gpu_memory_used"):
        op.drop_column("worker", column)
    for column in ("admin_note", "stop_sentence", "requeue_requested_at", "queue_order"):
        op.drop_column("task_run", column)
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("ck_group_max_run", "concurrency_group", type_="check")
    op.drop_column("concurrency_group", "max_run_s")
