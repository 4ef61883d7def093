"""Fixtures of the admin tests.

Database tests run on SQLite and on PostgreSQL (which skips without a
server). ``groups`` is the group service of a started App whose admitter
grants held runs (tests/support/runs.py), so tests hold slots with real
runs. The browser test uses the ``browser`` and ``server`` fixtures of
tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import delete

from core.app import App
from db.engine import get_engine
from db.models import TaskGroup
from tests.admin.support import Groups, make_groups
from tests.support.runs import quiet_app


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request) -> str:
    """A migrated database of each kind: ``sqlite_url``, then ``postgres_url``."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def db_engine(db_url):
    return get_engine(db_url)


@pytest.fixture
def groups_app(db_url) -> Iterator[App]:
    """A started App on ``db_url`` that grants held runs and executes no task (``quiet_app``).

    Without the task assignments ``start_app`` seeds: the database is as
    migrated, and the tests that need assignments seed them themselves.
    """
    app = quiet_app(db_url)
    with app.engine.begin() as connection:
        connection.execute(delete(TaskGroup))
    yield app
    app.close()


@pytest.fixture
def groups(groups_app) -> Groups:
    return make_groups(groups_app)
