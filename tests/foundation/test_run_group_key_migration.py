"""Migration 0010 gives existing runs the case-folded key of their group's name (Python's)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from db.migrate import downgrade, upgrade
from tests.foundation.test_name_key_migration import _database


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_existing_runs_get_the_key_sql_lower_would_not_give(kind, tmp_path):
    with _database(kind, tmp_path) as url:
        upgrade(url, "0009")
        engine = create_engine(url)
        try:
            with engine.begin() as connection:
                for run_id, group in (("r1", "Äx"), ("r2", "Straße"), ("r3", "A")):
                    connection.execute(
                        text(
                            "INSERT INTO task_run (id, group_name, task, owner, status, "
                            "enqueued_at, host, pid, device, queue_order) VALUES "
                            "(:id, :group, 'sleepy', 'ann', 'succeeded', '2026-01-01', "
                            "'', 0, '', 0)"
                        ),
                        {"id": run_id, "group": group},
                    )
            upgrade(url)
            with engine.connect() as connection:
                rows = connection.execute(
                    text("SELECT id, group_key FROM task_run ORDER BY id")
                ).all()
            assert [tuple(row) for row in rows] == [("r1", "äx"), ("r2", "strasse"), ("r3", "a")]
            downgrade(url, "0009")
            upgrade(url)
        finally:
            engine.dispose()
