"""A group's cap per person counts the person: every tab, reload and replica of alice is one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.app import App
from core.identity import person_from_user
from core.limiter import OwnerLimitReached
from tests.support.runs import holding, quiet_app
from tests.worker.support import set_group

ISSUER = "http://localhost:9400"


def _alice(tab: int) -> str:
    """Alice's owner id as one of her sessions computes it from its own ``st.user``."""
    user = {"is_logged_in": True, "iss": ISSUER, "sub": "alice", "iat": tab, "nonce": f"n{tab}"}
    person = person_from_user(user)
    assert person is not None
    return person.owner


def _bob() -> str:
    person = person_from_user({"is_logged_in": True, "iss": ISSUER, "sub": "bob"})
    assert person is not None
    return person.owner


@pytest.fixture
def app(sqlite_url) -> Iterator[App]:
    """An App that grants held runs (tests/support/runs.py), group A capped at one per person."""
    started = quiet_app(sqlite_url)
    set_group(started, "A", limit=5, per_owner_limit=1)
    yield started
    started.close()


def test_two_sessions_of_one_person_count_together_in_the_queue(app):
    with holding(app, "A", _alice(tab=1)):
        with pytest.raises(OwnerLimitReached, match="the cap per person"):
            with holding(app, "A", _alice(tab=2)):
                pytest.fail("alice's second tab slipped under her cap")
        with holding(app, "A", _bob()):
            pass


@pytest.mark.parametrize(
    "database",
    ["sqlite_url", pytest.param("postgres_url", marks=pytest.mark.postgres)],
)
def test_two_replicas_serving_one_person_count_together(database, request):
    url = request.getfixturevalue(database)
    first = quiet_app(url)
    second = quiet_app(url)
    try:
        set_group(first, "A", limit=5, per_owner_limit=1)
        with holding(first, "A", _alice(tab=1)):
            with pytest.raises(OwnerLimitReached):
                with holding(second, "A", _alice(tab=2)):
                    pytest.fail("alice on another replica slipped under her cap")
            with holding(second, "A", _bob()):
                pass
    finally:
        second.close()
        first.close()
