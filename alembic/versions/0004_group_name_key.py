"""concurrency_group.name_key: the case-folded name, unique, so the database refuses duplicates.

The old unique index on ``lower(name)`` let ``Äx`` and ``äx`` both in on
SQLite (its ``lower()`` folds ASCII only) and refused ``i`` beside ``İ`` on
PostgreSQL with a raw error. ``name_key`` holds Python's ``casefold()`` of
the name, filled here for existing rows and by the models for new ones,
under a unique index that replaces the ``lower(name)`` one.

Rows that already collide (the race this fixes could have written them)
keep the first one's name; later ones get `` 2``, `` 3``... appended, and
each rename is printed, so the migration never fails on old data.

The app always writes the key. A row inserted by hand in SQL without one
gets ``lower(name)`` from a trigger (ASCII folding on SQLite, the collation's
on PostgreSQL: what the old index compared), so it is still checked for
duplicates; a hand rename should set ``name_key`` too. SQLite cannot add a
NOT NULL column without a default, and removing the default afterwards
would copy the table, which drops the parent of ``limiter_ticket`` (its
``ON DELETE CASCADE`` would empty every queue); so on SQLite the column
keeps ``DEFAULT ''``, which is what its trigger looks for.

Revision ID: 0004_name_key
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_name_key"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY_MAX = 192  # db.models.GROUP_NAME_KEY_MAX (migrations do not import app code)
_NAME_MAX = 64


def _fill_keys(connection) -> None:
    groups = sa.table(
        "concurrency_group", sa.column("id"), sa.column("name"), sa.column("name_key")
    )
    taken: set[str] = set()
    rows = connection.execute(sa.select(groups.c.id, groups.c.name).order_by(groups.c.id))
    for group_id, name in rows.all():
        new_name, number = name, 1
        while new_name.casefold() in taken:
            number += 1
            suffix = f" {number}"
            new_name = name[: _NAME_MAX - len(suffix)] + suffix
        if new_name != name:
            print(f"taskgate: group {name!r} had the same name as another; renamed {new_name!r}")
        taken.add(new_name.casefold())
        connection.execute(
            groups.update()
            .where(groups.c.id == group_id)
            .values(name=new_name, name_key=new_name.casefold())
        )


_SQLITE_TRIGGER = """
CREATE TRIGGER concurrency_group_name_key AFTER INSERT ON concurrency_group
WHEN NEW.name_key = ''
BEGIN
    UPDATE concurrency_group SET name_key = lower(NEW.name) WHERE id = NEW.id;
END
"""
_PG_FUNCTION = """
CREATE FUNCTION taskgate_group_name_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.name_key IS NULL THEN
        NEW.name_key := lower(NEW.name);
    END IF;
    RETURN NEW;
END
$$
"""
_PG_TRIGGER = """
CREATE TRIGGER concurrency_group_name_key BEFORE INSERT ON concurrency_group
FOR EACH ROW EXECUTE FUNCTION taskgate_group_name_key()
"""


def upgrade() -> None:
    connection = op.get_bind()
    sqlite = connection.dialect.name == "sqlite"
    op.drop_index("uq_group_name_ci", table_name="concurrency_group")
    if sqlite:
        op.execute(
            f"ALTER TABLE concurrency_group ADD COLUMN name_key VARCHAR({_KEY_MAX}) "
            "NOT NULL DEFAULT ''"
        )
    else:
        op.add_column(
            "concurrency_group", sa.Column("name_key", sa.String(_KEY_MAX), nullable=True)
        )
    _fill_keys(connection)
    if not sqlite:
        op.alter_column("concurrency_group", "name_key", nullable=False)
    op.create_index("uq_group_name_key", "concurrency_group", ["name_key"], unique=True)
    if sqlite:
        op.execute(_SQLITE_TRIGGER)
    else:
        op.execute(_PG_FUNCTION)
        op.execute(_PG_TRIGGER)


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER concurrency_group_name_key"
        + ("" if op.get_bind().dialect.name == "sqlite" else " ON concurrency_group")
    )
    op.drop_index("uq_group_name_key", table_name="concurrency_group")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE concurrency_group DROP COLUMN name_key")
    else:
        op.execute("DROP FUNCTION taskgate_group_name_key()")
        op.drop_column("concurrency_group", "name_key")
    op.create_index("uq_group_name_ci", "concurrency_group", [sa.text("lower(name)")], unique=True)
