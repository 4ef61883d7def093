"""One App per module for the worker tests: starting a worker process imports torch (seconds)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.app import App, start_app
from core.settings import Settings
from db.engine import dispose_engines
from tests.support.database import sqlite_url
from tests.worker.support import TEST_TASKS, set_group


@pytest.fixture(scope="module")
def module_app(tmp_path_factory) -> Iterator[App]:
    url = sqlite_url(tmp_path_factory.mktemp("worker"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TASKGATE_TASK_MODULES", TEST_TASKS)  # here and in the worker processes
        started = start_app(
            Settings(
                database_url=url,
                cancel_grace_s=1.0,
                result_max_bytes=16 * 1024**2,
                # The default lease: no test here measures its expiry (test_worker_processes
                # does, with its own), and a 6 s one ran out at load 33, recording runs lost.
                lease_ttl_s=Settings().lease_ttl_s,
                admin_password="letmein-letmein",
            )
        )
        yield started
        started.close()
    dispose_engines()


@pytest.fixture
def app(module_app) -> Iterator[App]:
    """The module's App with group A back at its seeded settings after each test."""
    yield module_app
    set_group(module_app, "A", limit=1, paused=False, max_queue=None, per_owner_limit=None)
