"""Fixtures every suite may use: migrated databases, a started App, a real server and Chromium."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.app import App, start_app
from core.settings import Settings, SettingsError
from db.engine import dispose_engines, get_engine
from db.migrate import upgrade
from tests.support.browser import chromium, require_browser, visit_home
from tests.support.database import POSTGRES_URL_VARIABLE, postgres_base_url, postgres_schema_url
from tests.support.database import sqlite_url as make_sqlite_url
from tests.support.optional import skip_unless_available
from tests.support.server import Server, streamlit_server


@pytest.fixture
def sqlite_url(tmp_path) -> Iterator[str]:
    """A migrated SQLite file in a temporary folder."""
    url = make_sqlite_url(tmp_path)
    upgrade(url)
    yield url
    dispose_engines()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A migrated, private PostgreSQL schema (skips without a server, fails in CI)."""
    base = postgres_base_url()
    skip_unless_available(
        "postgres",
        base is not None,
        f"set {POSTGRES_URL_VARIABLE}=postgresql+psycopg://USER@HOST:5432/DB to run it",
    )
    with postgres_schema_url(base) as url:
        upgrade(url)
        yield url
        dispose_engines()


@pytest.fixture
def engine(sqlite_url):
    return get_engine(sqlite_url)


@pytest.fixture
def app(sqlite_url) -> Iterator[App]:
    """A started App (limiter, recorder, scheduler) on a fresh SQLite file."""
    started = start_app(Settings(database_url=sqlite_url))
    yield started
    started.close()


@pytest.fixture
def apptest_app(sqlite_url, monkeypatch) -> Iterator[None]:
    """Point AppTest runs at a fresh database, and stop the App they start afterwards.

    AppTest runs scripts in this process, so the ``st.cache_resource`` that holds
    the App is shared with the test: clear it before and after.
    """
    import streamlit as st

    from core.ui import bootstrap

    monkeypatch.setenv("TASKGATE_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("TASKGATE_ADMIN_PASSWORD", "letmein-please")
    st.cache_resource.clear()
    yield
    try:
        bootstrap.started_app().close()
    except SettingsError:
        pass  # the test set a bad setting on purpose: no App was started
    finally:
        st.cache_resource.clear()


@pytest.fixture
def browser():
    require_browser()
    with chromium() as launched:
        yield launched


@pytest.fixture
def server_env(tmp_path) -> dict[str, str]:
    """Environment for the server under test; tests may add to it before ``server`` starts."""
    return {
        "TASKGATE_DATABASE_URL": make_sqlite_url(tmp_path),
        "TASKGATE_ADMIN_PASSWORD": "letmein-please",
    }


@pytest.fixture
def server(tmp_path, server_env, browser) -> Iterator[Server]:
    """A served app that one visit to Home has already put under Taskgate's navigation.

    A fresh server's very first deep link to a task page shows Streamlit's "Page
    not found" notice over the right page (docs/ARCHITECTURE.md, "Pages"); tests
    that deep-link task pages are not about that, and tests/browser/test_deep_link.py,
    which is, starts servers of its own.
    """
    with streamlit_server(tmp_path, server_env) as running:
        visit_home(browser, running)
        yield running
    dispose_engines()
