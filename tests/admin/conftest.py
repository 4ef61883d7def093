"""Fixtures of the admin tests.

Database tests run on SQLite and on PostgreSQL (which skips without a
server). The browser test uses the ``browser`` and ``server`` fixtures of
tests/conftest.py.
"""

from __future__ import annotations

import pytest

from db.engine import get_engine
from tests.admin.support import Groups, make_groups


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request) -> str:
    """A migrated database of each kind: ``sqlite_url``, then ``postgres_url``."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def db_engine(db_url):
    return get_engine(db_url)


@pytest.fixture
def groups(db_engine) -> Groups:
    return make_groups(db_engine)
