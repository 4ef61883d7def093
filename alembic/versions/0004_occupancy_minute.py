"""occupancy_minute: each group's peaks per minute, kept up to date by the sampler.

The day and week history charts read this roll-up instead of bucketing a
week of one-second samples on every first view.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "occupancy_minute",
        sa.Column("group_name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("minute", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("max_running", sa.Integer(), nullable=False),
        sa.Column("max_queued", sa.Integer(), nullable=False),
        sa.Column("max_limit", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("group_name", "minute"),
    )
    with op.batch_alter_table("occupancy_minute", schema=None) as batch_op:
        batch_op.create_index("ix_occupancy_minute_minute", ["minute"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("occupancy_minute", schema=None) as batch_op:
        batch_op.drop_index("ix_occupancy_minute_minute")
    op.drop_table("occupancy_minute")
