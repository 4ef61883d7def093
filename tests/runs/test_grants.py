"""The one admission decision, step by step, on real migrated databases (SQLite and PostgreSQL).

No admitter thread and no worker processes: the test plays the admitters' part
with the same ``sql.grant`` and ``sql.finish`` calls, so what is asserted is
the decision itself: limits, pause, strict FIFO (also after a move to the
head and past runs another process must take), and the hand-off in one
transaction. Groups A and B are seeded by migration 0001 with limit 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core.auth import Actor
from core.limiter import OwnerLimitReached, QueueFull
from core.runs import sql
from core.runs.admin import RunAdmin
from core.runs.database import RunDatabase
from core.runs.service import RunService
from db.models import RunStatus

ALICE = Actor("alice", is_admin=True)
ME = sql.Grantee("process-one", None, 100)


@pytest.fixture(params=["sqlite", "postgres"])
def db(request, monkeypatch) -> Iterator[RunDatabase]:
    monkeypatch.setenv("TASKGATE_TASK_MODULES", "tests.support.worker_tasks")
    database = RunDatabase(request.getfixturevalue(f"{request.param}_url"))
    yield database
    database.dispose()


def set_group(db: RunDatabase, name: str, **values) -> None:
    with db.write() as connection:
        connection.execute(update(sql.GROUPS).where(sql.GROUPS.c.name == name).values(**values))


def submit(db: RunDatabase, owner: str) -> str:
    return RunService(db).submit("sleepy", {"steps": 1}, owner)


def grant(db: RunDatabase, grantee: sql.Grantee = ME) -> list[str]:
    with db.write() as connection:
        until = sql.clock(connection) + timedelta(seconds=60)
        return [run.id for run in sql.grant(connection, grantee, until)]


def finish_and_grant(db: RunDatabase, run_id: str, grantee: sql.Grantee = ME) -> list[str]:
    """What an admitter does when a run ends: record it and grant the next, together."""
    with db.write() as connection:
        now = sql.clock(connection)
        assert sql.finish(connection, run_id, grantee.worker_id, RunStatus.SUCCEEDED, now)
        until = now + timedelta(seconds=60)
        return [run.id for run in sql.grant(connection, grantee, until)]


def status(db: RunDatabase, run_id: str) -> tuple[str, str | None]:
    with db.read() as connection:
        row = connection.execute(
            select(sql.RUNS.c.status, sql.RUNS.c.worker_id).where(sql.RUNS.c.id == run_id)
        ).one()
    return row.status, row.worker_id


def test_a_group_grants_its_limit_in_queue_order_and_hands_off_in_one_transaction(db):
    runs = [submit(db, f"owner{i}") for i in range(4)]
    assert grant(db) == runs[:1]
    assert grant(db) == [], "limit 1: the next waits"
    set_group(db, "A", limit=2)
    assert grant(db) == runs[1:2], "a raised limit applies at the next decision"
    assert finish_and_grant(db, runs[0]) == runs[2:3]
    assert finish_and_grant(db, runs[1]) == runs[3:4]
    assert [status(db, run_id)[0] for run_id in runs] == ["succeeded"] * 2 + ["queued"] * 2


def test_a_paused_group_grants_nothing_and_resumes_in_order(db):
    set_group(db, "A", paused=True)
    runs = [submit(db, f"owner{i}") for i in range(3)]
    assert grant(db) == []
    set_group(db, "A", paused=False, limit=3)
    assert grant(db) == runs


def test_move_to_head_gives_the_next_slot_to_the_moved_run(db):
    holder, bob, cat, dan = (submit(db, owner) for owner in ("ann", "bob", "cat", "dan"))
    assert grant(db) == [holder]
    RunAdmin(db).move_to_head(ALICE, dan)
    assert finish_and_grant(db, holder) == [dan]
    set_group(db, "A", limit=3)
    assert grant(db) == [bob, cat], "the others keep their order behind it"


def test_no_run_overtakes_one_that_another_process_must_take(db):
    set_group(db, "A", limit=3)
    other = sql.Grantee("process-two", None, 100)
    first = submit(db, "ann")
    held = RunService(db).submit_held("A", "bob", "page code", other.worker_id, 60)
    third = submit(db, "cat")
    assert grant(db) == [first], "process one may not take the held run, nor pass it"
    assert grant(db, other) == [held, third]


def test_a_full_executor_or_one_serving_other_groups_leaves_the_run_to_another(db):
    set_group(db, "A", limit=2)
    runs = [submit(db, f"owner{i}") for i in range(2)]
    full = sql.Grantee("process-full", None, 0)
    elsewhere = sql.Grantee("process-b", frozenset({"b"}), 5)
    assert grant(db, full) == [] and grant(db, elsewhere) == []
    assert grant(db, sql.Grantee("process-one-slot", None, 1)) == runs[:1]
    assert grant(db) == runs[1:]


def test_a_slot_is_held_from_the_grant_and_a_lost_grant_goes_back_in_its_place(db):
    runs = [submit(db, f"owner{i}") for i in range(2)]
    assert grant(db) == runs[:1]
    assert status(db, runs[0]) == ("queued", ME.worker_id), "granted: holds the slot, not running"
    with db.write() as connection:  # its process died before the body started
        connection.execute(
            update(sql.RUNS)
            .where(sql.RUNS.c.id == runs[0])
            .values(lease_expires_at=sql.clock(connection) - timedelta(seconds=1))
        )
        assert sql.sweep(connection, sql.clock(connection)) == (0, 1)
    assert status(db, runs[0]) == ("queued", None), "never ran: not lost, back in the queue"
    assert grant(db) == runs[:1], "in its place, ahead of the next"


def test_submit_refuses_with_the_policy_s_sentences_against_the_queue_s_counts(db):
    set_group(db, "A", per_owner_limit=1, max_queue=1)
    ann = submit(db, "ann")
    assert grant(db) == [ann]
    with pytest.raises(OwnerLimitReached):
        submit(db, "ann")
    submit(db, "bob")  # waits: the queue holds one
    with pytest.raises(QueueFull):
        submit(db, "cat")
