"""Fixtures for browser tests: a real server on a fresh database, and Chromium."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from db.engine import dispose_engines
from tests.support.browser import chromium, require_browser
from tests.support.database import sqlite_url
from tests.support.server import Server, streamlit_server


@pytest.fixture
def browser():
    require_browser()
    with chromium() as launched:
        yield launched


@pytest.fixture
def server_env(tmp_path) -> dict[str, str]:
    """Environment for the server under test; tests may add to it before ``server`` starts."""
    return {"TASKGATE_DATABASE_URL": sqlite_url(tmp_path), "TASKGATE_ADMIN_PASSWORD": "letmein"}


@pytest.fixture
def server(tmp_path, server_env, browser) -> Iterator[Server]:
    with streamlit_server(tmp_path, server_env) as running:
        yield running
    dispose_engines()
