"""The HTTP API: personal API tokens, and how each run was asked for (page or API).

``api_token`` keeps only the SHA-256 of each token (tokens are 32 random
bytes, so a plain hash cannot be guessed back), with the person it acts as.
``task_run.source`` is "page" for every existing run and for runs from pages,
"api" for runs submitted with a token.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-09
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("task_run", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "source",
                sqlmodel.sql.sqltypes.AutoString(length=8),
                nullable=False,
                server_default="page",
            )
        )
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("person_name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("person_email", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("person_subject", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index("ix_api_token_owner", ["owner"], unique=False)
        batch_op.create_index("ix_api_token_hash", ["hash"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index("ix_api_token_hash")
        batch_op.drop_index("ix_api_token_owner")
    op.drop_table("api_token")
    with op.batch_alter_table("task_run", schema=None) as batch_op:
        batch_op.drop_column("source")
