"""Every shared-limiter test runs on SQLite and on PostgreSQL (which skips without a server)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.shared_limiter.support import shared_limiters


@pytest.fixture(
    params=[
        pytest.param("sqlite_url", id="sqlite"),
        pytest.param("postgres_url", id="postgres", marks=pytest.mark.postgres),
    ]
)
def database_url(request: pytest.FixtureRequest) -> str:
    """A migrated database with no groups yet."""
    return request.getfixturevalue(request.param)


@pytest.fixture
def make_shared(database_url: str) -> Iterator:
    """``make_shared(default_limit=1, events=None, lease_ttl_s=...)``, closed after the test."""
    with shared_limiters(database_url) as make:
        yield make
