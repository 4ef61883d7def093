"""One App per module for the worker tests: starting a worker process imports torch (seconds)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.app import App
from tests.support.database import sqlite_url
from tests.worker.support import set_group, started_app


@pytest.fixture(scope="module")
def module_app(tmp_path_factory) -> Iterator[App]:
    yield from started_app(sqlite_url(tmp_path_factory.mktemp("worker")))


@pytest.fixture
def app(module_app) -> Iterator[App]:
    """The module's App with group A back at its seeded settings after each test."""
    yield module_app
    set_group(module_app, "A", limit=1, paused=False, max_queue=None, per_owner_limit=None)
