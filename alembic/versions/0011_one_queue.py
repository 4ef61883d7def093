"""One queue: task_run is the only queue; the shared limiter's tickets and the requeue flag go.

A run now holds a slot from the moment the admitter grants it (``worker_id``
set, still ``queued`` until its body starts) to its final status, so the
``limiter_ticket`` rows that mirrored slots and the ``requeue_requested_at``
flag that pulled claimed runs back out of the limiter have nothing left to
say. ``held_by`` names the process whose page code will run a held run
(``hold_slot``): only that process may be granted it. ``granted_at`` is when
the run was granted its slot (the moment its wait for a slot ended). On PostgreSQL the
trigger that announces group changes now speaks on the runs' channel.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _notify_function(channel: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION taskgate_limiter_group_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{channel}', '');
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    with op.batch_alter_table("limiter_ticket", schema=None) as batch_op:
        batch_op.drop_index("ix_limiter_ticket_lease")
        batch_op.drop_index("ix_limiter_ticket_holder")
        batch_op.drop_index("ix_limiter_ticket_group_state")
    op.drop_table("limiter_ticket")
    with op.batch_alter_table("task_run", schema=None) as batch_op:
        batch_op.drop_column("requeue_requested_at")
        batch_op.add_column(
            sa.Column("held_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch_op.add_column(
            sa.Column("granted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_notify_function("taskgate_runs"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_notify_function("taskgate_limiter"))
    with op.batch_alter_table("task_run", schema=None) as batch_op:
        batch_op.drop_column("granted_at")
        batch_op.drop_column("held_by")
        batch_op.add_column(
            sa.Column("requeue_requested_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    op.create_table(
        "limiter_ticket",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("task", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=True),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("enqueued_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("granted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("lease_expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("host", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("holder", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.CheckConstraint("state IN ('waiting', 'running')", name="ck_ticket_state"),
        sa.ForeignKeyConstraint(["group_id"], ["concurrency_group.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", name="uq_limiter_ticket_run_id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("limiter_ticket", schema=None) as batch_op:
        batch_op.create_index(
            "ix_limiter_ticket_group_state", ["group_id", "state", "id"], unique=False
        )
        batch_op.create_index("ix_limiter_ticket_holder", ["holder"], unique=False)
        batch_op.create_index("ix_limiter_ticket_lease", ["lease_expires_at"], unique=False)
