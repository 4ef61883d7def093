"""The database itself refuses rows that break a group's rules."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DataError, IntegrityError

from db.engine import get_engine

INSERT = (
    'INSERT INTO concurrency_group (name, "limit", paused, max_queue, queue_timeout_s, '
    "per_owner_limit, description, version, created_at, updated_at, updated_by) "
    "VALUES (:name, :limit, false, :max_queue, :timeout, :per_owner, '', :version, "
    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'test')"
)
GOOD = {
    "name": "C",
    "limit": 1,
    "max_queue": None,
    "timeout": None,
    "per_owner": None,
    "version": 1,
}


def _insert(url: str, **changes) -> None:
    with get_engine(url).begin() as connection:
        connection.execute(text(INSERT), {**GOOD, **changes})


def _names(url: str) -> list[str]:
    with get_engine(url).connect() as connection:
        return list(
            connection.execute(text("SELECT name FROM concurrency_group ORDER BY name")).scalars()
        )


BAD_ROWS = [
    pytest.param({"limit": 0}, id="limit-0"),
    pytest.param({"limit": -3}, id="limit-negative"),
    pytest.param({"max_queue": -1}, id="max_queue-negative"),
    pytest.param({"timeout": 0}, id="timeout-zero"),
    pytest.param({"timeout": -1.5}, id="timeout-negative"),
    pytest.param({"per_owner": 0}, id="per_owner-zero"),
    pytest.param({"name": ""}, id="name-empty"),
    pytest.param({"name": "x" * 65}, id="name-too-long"),
    pytest.param({"name": "a"}, id="duplicate-other-case"),
    pytest.param({"name": "B"}, id="duplicate-same-case"),
    pytest.param({"version": 0}, id="version-zero"),
]


@pytest.mark.parametrize("changes", BAD_ROWS)
def test_bad_group_rows_are_refused_and_nothing_is_written(sqlite_url, changes):
    with pytest.raises(IntegrityError):
        _insert(sqlite_url, **changes)
    assert _names(sqlite_url) == ["A", "B"]


@pytest.mark.parametrize("changes", BAD_ROWS)
def test_bad_group_rows_are_refused_on_postgres(postgres_url, changes):
    # PostgreSQL refuses an over-long name by its VARCHAR(64) type before the CHECK.
    with pytest.raises((IntegrityError, DataError)):
        _insert(postgres_url, **changes)
    assert _names(postgres_url) == ["A", "B"]


def test_a_good_row_is_accepted(sqlite_url):
    _insert(sqlite_url, max_queue=0, timeout=2.5, per_owner=1)
    assert _names(sqlite_url) == ["A", "B", "C"]


def test_unknown_run_status_is_refused(sqlite_url):
    with pytest.raises(IntegrityError), get_engine(sqlite_url).begin() as connection:
        connection.execute(
            text(
                "INSERT INTO task_run (id, group_name, task, owner, status, enqueued_at, host, pid)"
                " VALUES ('r1', 'A', 't', 'o', 'exploded', CURRENT_TIMESTAMP, 'h', 1)"
            )
        )
