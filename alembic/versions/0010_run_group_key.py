"""task_run.group_key: the case-folded group name, so runs are matched to groups in Python's terms.

Runs were matched to their group with SQL's ``lower()``, which folds only
ASCII letters on SQLite: a group named ``Äx`` could not take a run at all
(its request was refused as for a group that does not exist). ``group_key``
holds ``db.models.group_name_key(group_name)``, as ``concurrency_group.name_key``
does for groups; it is filled here for existing runs (in Python, per
distinct name) and by the models for new ones, and indexed with
``enqueued_at`` for the queue queries that use it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY_MAX = 192  # db.models.GROUP_NAME_KEY_MAX (migrations do not import app code)


def _fill_keys(connection) -> None:
    runs = sa.table("task_run", sa.column("group_name"), sa.column("group_key"))
    names = connection.execute(sa.select(runs.c.group_name).distinct()).scalars().all()
    for name in names:
        connection.execute(
            runs.update().where(runs.c.group_name == name).values(group_key=name.casefold())
        )


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        # SQLite adds a NOT NULL column only with a default (see 0004_name_key).
        op.execute(
            f"ALTER TABLE task_run ADD COLUMN group_key VARCHAR({_KEY_MAX}) NOT NULL DEFAULT ''"
        )
    else:
        op.add_column("task_run", sa.Column("group_key", sa.String(_KEY_MAX), nullable=True))
    _fill_keys(connection)
    if connection.dialect.name != "sqlite":
        op.alter_column("task_run", "group_key", nullable=False)
    op.create_index("ix_task_run_group_key_enqueued", "task_run", ["group_key", "enqueued_at"])


def downgrade() -> None:
    op.drop_index("ix_task_run_group_key_enqueued", table_name="task_run")
    op.drop_column("task_run", "group_key")
