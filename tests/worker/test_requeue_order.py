"""Move-to-head's requeue, step by step: the claim order after runs are asked back.

No dispatcher and no threads: the test plays the dispatchers' part with the
same store and claim calls, in the order that used to lose the moved run's
place (its waiter thread gives it back after the others have been given
back and claimed again), so the outcome does not depend on scheduling.
Real migrated databases (groups A and B seeded), SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import update

from core.auth import Actor
from core.shared_limiter.database import LimiterDatabase
from core.worker import claims, store
from core.worker.run_admin import RunAdmin
from core.worker.store import GROUPS

ALICE = Actor("alice", is_admin=True)
WORKER = "worker-one"
OWNERS = ("bob", "cat", "dan", "eve")


@pytest.fixture(params=["sqlite", "postgres"])
def db(request) -> Iterator[LimiterDatabase]:
    url = request.getfixturevalue(f"{request.param}_url")
    database = LimiterDatabase(url)
    with database.write() as connection:  # room for all four: a claim takes limit + 1 at most
        connection.execute(update(GROUPS).where(GROUPS.c.name == "A").values(limit=4))
    yield database
    database.dispose()


def submit(db: LimiterDatabase, owner: str) -> str:
    with db.write() as connection:
        run_id = f"run-{owner}"
        store.insert_run(
            connection,
            id=run_id,
            group_name="A",
            task="sleepy",
            owner=owner,
            params={},
            enqueued_at=store.clock(connection),
        )
    return run_id


def claim(db: LimiterDatabase, worker: str = WORKER) -> list[str]:
    with db.write() as connection:
        until = store.clock(connection) + timedelta(seconds=60)
        claimed = claims.claim(connection, worker, None, None, until, fleet_order=False)
    return [run.id for run in claimed]


def give_back(db: LimiterDatabase, run_id: str) -> int:
    """What a waiter thread does when its run was asked back."""
    with db.write() as connection:
        return store.unclaim(connection, [run_id], WORKER)


def asked_back(db: LimiterDatabase) -> list[str]:
    with db.read() as connection:
        return sorted(claims.look(connection, WORKER, None, holding=True).to_give_back)


def test_the_moved_run_is_claimed_first_whatever_order_the_runs_are_given_back_in(db):
    bob, cat, dan, eve = (submit(db, owner) for owner in OWNERS)
    assert claim(db) == [bob, cat, dan, eve]

    RunAdmin(db).move_to_head(ALICE, dan)
    assert asked_back(db) == sorted([bob, cat, dan, eve])

    # eve's and bob's threads give their runs back first; dan's has not yet.
    assert give_back(db, eve) == 1
    assert give_back(db, bob) == 1
    assert claim(db) == [], "claimed while dan was still held: it would enter the limiter last"
    assert claim(db, "worker-two") == [], "no other worker may claim the group either"
    assert give_back(db, cat) == 1
    assert give_back(db, dan) == 1

    assert asked_back(db) == []
    assert claim(db) == [dan, bob, cat, eve]


def test_other_groups_are_claimed_while_one_is_being_reordered(db):
    bob, dan = submit(db, "bob"), submit(db, "dan")
    assert claim(db) == [bob, dan]
    RunAdmin(db).move_to_head(ALICE, dan)
    with db.write() as connection:
        store.insert_run(
            connection, id="run-in-b", group_name="B", task="sleepy", owner="fay", params={},
            enqueued_at=store.clock(connection),
        )  # fmt: skip
    assert claim(db) == ["run-in-b"]


def test_a_run_removed_after_it_was_asked_back_is_not_given_back_to_the_queue(db):
    bob, dan = submit(db, "bob"), submit(db, "dan")
    assert claim(db) == [bob, dan]
    admin = RunAdmin(db)
    admin.move_to_head(ALICE, dan)
    admin.remove(ALICE, bob)  # bob is still held by its worker: a request

    assert give_back(db, bob) == 0, "a run to cancel must not be claimed again"
    with db.write() as connection:  # its dispatcher records the cancel instead
        assert store.finish(connection, bob, WORKER, "cancelled", store.clock(connection))
    assert give_back(db, dan) == 1
    assert claim(db) == [dan]


def test_the_sweep_gives_back_a_dead_workers_asked_back_run_without_the_flag(db):
    bob, dan = submit(db, "bob"), submit(db, "dan")
    assert claim(db) == [bob, dan]
    RunAdmin(db).move_to_head(ALICE, dan)
    with db.write() as connection:  # the worker died: its leases ran out
        later = store.clock(connection) + timedelta(seconds=120)
        assert store.sweep(connection, later) == (0, 2)
    assert claim(db, "worker-two") == [dan, bob]
    with db.write() as connection:  # the new holder may start them: nothing asks them back
        assert store.start(connection, dan, "worker-two", store.clock(connection), "h", 1)
