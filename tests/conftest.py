"""Fixtures every suite may use: migrated databases, a started App, a real server and Chromium."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.app import App, start_app
from core.settings import Settings, SettingsError
from db.engine import dispose_engines, get_engine
from db.migrate import upgrade
from tests.support.browser import chromium, require_browser
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


@pytest.fixture(autouse=True, scope="session")
def _pages_under_navigation_in_apptest() -> Iterator[None]:
    """AppTest runs pages as the server does: always under Home.py's ``st.navigation``.

    The server turns Streamlit's old ``pages/`` mode off at start (core/ui/server.py);
    AppTest recomputes that switch before every run, from the folder, so each
    AppTest's PagesManager turns it off again.
    """
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import app_test

    class ServedPagesManager(PagesManager):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            PagesManager.uses_pages_directory = False

    app_test.PagesManager = ServedPagesManager  # type: ignore[misc]
    yield
    app_test.PagesManager = PagesManager  # type: ignore[misc]


@pytest.fixture
def engine(sqlite_url):
    return get_engine(sqlite_url)


@pytest.fixture
def app(sqlite_url) -> Iterator[App]:
    """A started App (limiter, recorder, background jobs) on a fresh SQLite file."""
    started = start_app(Settings(database_url=sqlite_url))
    yield started
    started.close()


@pytest.fixture
def apptest_app(sqlite_url, monkeypatch) -> Iterator[None]:
    """Point AppTest runs at a fresh database, and stop the App they start afterwards.

    AppTest has no server and no lifespan: the first ``get_app()`` starts the App
    through ``st.cache_resource`` (core/ui/bootstrap.py), which AppTest shares with
    this process: clear it before and after.
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
    """A served app, its services started by its lifespan before it answered."""
    with streamlit_server(tmp_path, server_env) as running:
        yield running
    dispose_engines()
