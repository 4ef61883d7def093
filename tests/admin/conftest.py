"""Fixtures of the admin tests.

Database tests run on SQLite and on PostgreSQL (which skips without a
server). The browser test gets a real server and Chromium, as in
tests/browser/ (fixtures are not shared across sibling folders).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from db.engine import dispose_engines, get_engine
from tests.admin.support import Groups, make_groups
from tests.support.browser import chromium, require_browser
from tests.support.database import sqlite_url
from tests.support.server import Server, streamlit_server


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


@pytest.fixture
def browser():
    require_browser()
    with chromium() as launched:
        yield launched


@pytest.fixture
def server_env(tmp_path) -> dict[str, str]:
    return {"TASKGATE_DATABASE_URL": sqlite_url(tmp_path), "TASKGATE_ADMIN_PASSWORD": "letmein"}


@pytest.fixture
def server(tmp_path, server_env, browser) -> Iterator[Server]:
    with streamlit_server(tmp_path, server_env) as running:
        yield running
    dispose_engines()
