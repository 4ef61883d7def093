"""limiter_ticket: the shared limiter's slots and queues, one row per waiting or running request.

On PostgreSQL, a trigger also announces every change to concurrency_group on
the shared limiter's NOTIFY channel, so that a limit raised by the admin
page, another tool or by hand admits waiters in every process at once.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The channel core/shared_limiter/listen.py LISTENs on (migrations do not import app code).
_NOTIFY_FUNCTION = """
CREATE FUNCTION taskgate_limiter_group_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('taskgate_limiter', '');
    RETURN NULL;
END
$$
"""
_NOTIFY_TRIGGER = """
CREATE TRIGGER concurrency_group_changed
AFTER INSERT OR UPDATE OR DELETE ON concurrency_group
FOR EACH STATEMENT EXECUTE FUNCTION taskgate_limiter_group_changed()
"""


def upgrade() -> None:
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
        # Ticket numbers are the queue order: SQLite must never reuse a deleted one.
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("limiter_ticket", schema=None) as batch_op:
        batch_op.create_index(
            "ix_limiter_ticket_group_state", ["group_id", "state", "id"], unique=False
        )
        batch_op.create_index("ix_limiter_ticket_holder", ["holder"], unique=False)
        batch_op.create_index("ix_limiter_ticket_lease", ["lease_expires_at"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_NOTIFY_FUNCTION)
        op.execute(_NOTIFY_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER concurrency_group_changed ON concurrency_group")
        op.execute("DROP FUNCTION taskgate_limiter_group_changed()")
    with op.batch_alter_table("limiter_ticket", schema=None) as batch_op:
        batch_op.drop_index("ix_limiter_ticket_lease")
        batch_op.drop_index("ix_limiter_ticket_holder")
        batch_op.drop_index("ix_limiter_ticket_group_state")
    op.drop_table("limiter_ticket")
