"""Migration 0004_name_key fills the case-folded key of existing groups, duplicates and all."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from db.migrate import downgrade, upgrade
from tests.support.database import postgres_base_url, postgres_schema_url, sqlite_url
from tests.support.optional import skip_unless_available


def _database(kind: str, tmp_path):
    if kind == "sqlite":
        from contextlib import nullcontext

        return nullcontext(sqlite_url(tmp_path))
    base = postgres_base_url()
    skip_unless_available("postgres", base is not None, "set TASKGATE_TEST_POSTGRES_URL to run it")
    return postgres_schema_url(base)


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_existing_groups_get_their_key_and_old_duplicates_a_new_name(kind, tmp_path, capsys):
    with _database(kind, tmp_path) as url:
        upgrade(url, "0004")
        engine = create_engine(url)
        try:
            with engine.begin() as connection:
                # The race the old lower() index let through on SQLite, written by hand here.
                connection.execute(text("DROP INDEX uq_group_name_ci"))
                for name in ("Äx", "äx", "ÄX"):
                    connection.execute(
                        text(
                            'INSERT INTO concurrency_group (name, "limit", paused, description, '
                            "version, created_at, updated_at, updated_by) VALUES "
                            "(:name, 1, false, '', 1, '2026-01-01', '2026-01-01', 'x')"
                        ),
                        {"name": name},
                    )
                # Something by that name for the migration to drop, as on a real database.
                connection.execute(
                    text("CREATE UNIQUE INDEX uq_group_name_ci ON concurrency_group (id)")
                )
            upgrade(url)
            with engine.connect() as connection:
                rows = connection.execute(
                    text("SELECT name, name_key FROM concurrency_group ORDER BY id")
                ).all()
            assert [tuple(row) for row in rows] == [
                ("A", "a"),
                ("B", "b"),
                ("Äx", "äx"),
                ("äx 2", "äx 2"),
                ("ÄX 3", "äx 3"),
            ]
            assert "renamed 'äx 2'" in capsys.readouterr().out
            downgrade(url, "0004")
            upgrade(url)
        finally:
            engine.dispose()
