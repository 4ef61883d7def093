"""A group's cap per person counts the person: every tab, reload and replica of alice is one."""

from __future__ import annotations

import pytest

from core.identity import person_from_user
from core.limiter import GroupConfig, Limiter, OwnerLimitReached
from tests.shared_limiter.support import shared_limiters

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


def test_two_sessions_of_one_person_count_together_in_the_limiter():
    limiter = Limiter(default_limit=1)
    limiter.configure(GroupConfig(name="A", limit=5, per_owner_limit=1))
    with limiter.slot("A", owner=_alice(tab=1)):
        with pytest.raises(OwnerLimitReached, match="the cap per person"):
            with limiter.slot("A", owner=_alice(tab=2)):
                pytest.fail("alice's second tab slipped under her cap")
        with limiter.slot("A", owner=_bob()):
            pass


@pytest.mark.parametrize(
    "database",
    ["sqlite_url", pytest.param("postgres_url", marks=pytest.mark.postgres)],
)
def test_two_replicas_serving_one_person_count_together(database, request):
    with shared_limiters(request.getfixturevalue(database)) as make:
        first, second = make(), make()
        first.configure(GroupConfig(name="A", limit=5, per_owner_limit=1))
        with first.slot("A", owner=_alice(tab=1)):
            with pytest.raises(OwnerLimitReached):
                with second.slot("A", owner=_alice(tab=2)):
                    pytest.fail("alice on another replica slipped under her cap")
            with second.slot("A", owner=_bob()):
                pass
