"""task_run.inputs: the inputs a worker needs whole (an uploaded image), beside params.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("task_run", sa.Column("inputs", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    op.drop_column("task_run", "inputs")
