"""task_group: which group each task's runs go through, by the admin's decision.

Rows are written at start-up for every discovered task that has none (its
default group, created with the default limit if missing), so this migration
creates the table only.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "task_group",
        sa.Column("task_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["concurrency_group.id"]),
        sa.PrimaryKeyConstraint("task_key"),
    )
    op.create_index(op.f("ix_task_group_group_id"), "task_group", ["group_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_task_group_group_id"), table_name="task_group")
    op.drop_table("task_group")
