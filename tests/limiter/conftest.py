"""The ``make_limiter`` factory every contract test runs against.

Contract tests use only the public API, so each runs against every backend:
the in-process Limiter, and the SharedLimiter on SQLite and on PostgreSQL
(which skips without a server, and fails in CI where it is required).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from core.limiter import Limiter, LimiterBackend, RunEvents
from tests.limiter.harness import MakeLimiter
from tests.shared_limiter.support import shared_limiters


def _make_local(default_limit: int = 1, events: RunEvents | None = None) -> Limiter:
    return Limiter(default_limit=default_limit, events=events)


BACKENDS = [
    pytest.param("local", id="local"),
    pytest.param("sqlite_url", id="shared-sqlite"),
    pytest.param("postgres_url", id="shared-postgres", marks=pytest.mark.postgres),
]
"""Backend ids, named after the fixture giving a shared backend its database."""


@pytest.fixture(params=BACKENDS)
def make_limiter(request: pytest.FixtureRequest) -> Iterator[MakeLimiter]:
    """``make_limiter(default_limit=1, events=None)`` for the backend under test."""
    if request.param == "local":
        yield _make_local
        return
    with shared_limiters(request.getfixturevalue(request.param)) as make:
        yield make


@pytest.fixture
def limiter(make_limiter: MakeLimiter) -> LimiterBackend:
    return make_limiter()


@dataclass(frozen=True)
class Pace:
    """How hard the many-thread tests push the backend under test.

    An in-process hand-off takes microseconds, a shared one a database
    transaction (milliseconds): the shared backends run a quarter of the
    requests, so the suite stays quick, and hold each slot for milliseconds,
    so that runs still overlap enough to reach the limit.
    """

    requests: float
    """Share of each test's full request count."""
    hold_s: float
    """How long a stress-test run holds its slot."""

    def count(self, full: int) -> int:
        return max(1, round(full * self.requests))


@pytest.fixture
def pace(request: pytest.FixtureRequest) -> Pace:
    if request.node.callspec.params["make_limiter"] == "local":
        return Pace(requests=1.0, hold_s=0.0002)
    return Pace(requests=0.25, hold_s=0.02)
