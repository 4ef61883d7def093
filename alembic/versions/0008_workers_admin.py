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


def _group_table(change) -> None:
    """Alter concurrency_group; SQLite rebuilds the table, losing the name expression index."""
    op.drop_index("uq_group_name_ci", table_name="concurrency_group")
    with op.batch_alter_table("concurrency_group", schema=None) as batch_op:
        change(batch_op)
    op.create_index("uq_group_name_ci", "concurrency_group", [sa.text("lower(name)")], unique=True)


def _add_cap(batch_op) -> None:
    batch_op.add_column(sa.Column("max_run_s", sa.Float(), nullable=True))
    batch_op.create_check_constraint("ck_group_max_run", "max_run_s IS NULL OR max_run_s > 0")


def _drop_cap(batch_op) -> None:
    batch_op.drop_constraint("ck_group_max_run", type_="check")
    batch_op.drop_column("max_run_s")


def upgrade() -> None:
    _group_table(_add_cap)
    with op.batch_alter_table("task_run", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("queue_order", sa.Float(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("requeue_requested_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("stop_sentence", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("admin_note", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
    with op.batch_alter_table("task_run", schema=None) as batch_op:
        batch_op.alter_column("queue_order", server_default=None)
    with op.batch_alter_table("worker", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gpu_memory_used", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("gpu_memory_total", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("gpu_utilization", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("worker", schema=None) as batch_op:
        batch_op.drop_column("gpu_utilization")
        batch_op.drop_column("gpu_memory_total")
        batch_op.drop_column("gpu_memory_used")
    with op.batch_alter_table("task_run", schema=None) as batch_op:
        batch_op.drop_column("admin_note")
        batch_op.drop_column("stop_sentence")
        batch_op.drop_column("requeue_requested_at")
        batch_op.drop_column("queue_order")
    _group_table(_drop_cap)
