"""What only the shared backend does: leases, reclaiming, edits made in the database, wiring.

Two SharedLimiters on one database stand in for two processes here (each
has its own holder id, connections and threads); test_processes.py shows
the same with real processes.
"""

from __future__ import annotations

import os
import socket
import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import create_engine, insert, select, text, update

from core.app import start_app
from core.group_sync import GroupSync
from core.limiter import GroupConfig, GroupRemoved
from core.settings import Settings
from core.shared_limiter import LeaseLost, SharedLimiter
from db.engine import get_engine
from db.migrate import downgrade, upgrade
from db.models import ConcurrencyGroup, LimiterTicket, TaskRun
from tests.limiter.harness import Request, enqueue, queued, running, wait_until
from tests.shared_limiter.support import shared_limiters
from tests.worker.support import finished

GROUPS = ConcurrencyGroup.__table__
TICKETS = LimiterTicket.__table__
RUNS = TaskRun.__table__


@pytest.fixture
def database(database_url):
    """A plain engine on the test database, for looking inside and editing by hand."""
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


def _group_id(database, name: str) -> int:
    with database.connect() as connection:
        return connection.execute(select(GROUPS.c.id).where(GROUPS.c.name == name)).scalar_one()


def _foreign_ticket(database, group: str, *, run_id: str, state: str, lease_s: float) -> None:
    """A ticket (and its task_run row) of a process on another host, leased for ``lease_s``."""
    now = datetime.now(UTC)
    with database.begin() as connection:
        connection.execute(
            insert(TICKETS).values(
                run_id=run_id,
                group_id=_group_id(database, group),
                owner="someone",
                task="matmul",
                state=state,
                enqueued_at=now,
                granted_at=now if state == "running" else None,
                lease_expires_at=now + timedelta(seconds=lease_s),
                host="elsewhere",
                pid=4242,
                holder="f" * 32,
            )
        )
        connection.execute(
            insert(RUNS).values(
                id=run_id,
                group_name=group,
                task="matmul",
                owner="someone",
                status="running" if state == "running" else "queued",
                enqueued_at=now,
                host="elsewhere",
                pid=4242,
            )
        )


def _status(database, run_id: str) -> tuple[str, str | None]:
    with database.connect() as connection:
        return tuple(
            connection.execute(select(RUNS.c.status, RUNS.c.error).where(RUNS.c.id == run_id)).one()
        )


def test_two_limiters_on_one_database_share_one_limit_in_order(make_shared):
    first, second = make_shared(), make_shared()
    first.configure(GroupConfig(name="X", limit=1))
    order: list[str] = []
    holder = Request(first, "X", owner="holder").start()
    assert holder.started.wait(5)
    waiters = []
    for index, limiter in enumerate([second, first, second, first]):
        waiters += enqueue(
            limiter, "X", 1, owner=f"w{index}", hold=False, body=lambda i=index: order.append(i)
        )
    assert running(second, "X") == 1 and queued(second, "X") == 4
    holder.finish()
    for waiter in waiters:
        assert waiter.outcome() is None
    assert order == [0, 1, 2, 3]


def test_leases_are_renewed_while_a_run_lasts(make_shared):
    ttl = 0.6
    holder_side, waiter_side = make_shared(lease_ttl_s=ttl), make_shared(lease_ttl_s=ttl)
    holder_side.configure(GroupConfig(name="X", limit=1))
    holder = Request(holder_side, "X").start()
    assert holder.started.wait(5)
    waiter = Request(waiter_side, "X").start()
    assert not waiter.started.wait(4 * ttl), "a live holder's slot was reclaimed"
    holder.finish()
    assert waiter.started.wait(5)
    waiter.finish()
    assert holder.error is None and waiter.error is None


def test_snapshot_shows_the_host_and_process_of_every_run(make_shared, database):
    limiter = make_shared()
    limiter.configure(GroupConfig(name="X", limit=2))
    _foreign_ticket(database, "X", run_id="a" * 32, state="running", lease_s=60)
    with limiter.slot("X"):
        (snap,) = limiter.snapshot().values()
    where = sorted((run.host, run.pid) for run in snap.running_runs)
    assert where == sorted([("elsewhere", 4242), (socket.gethostname(), os.getpid())])


def test_a_dead_processs_tickets_are_reclaimed_and_its_runs_marked_lost(make_shared, database):
    limiter = make_shared()
    limiter.configure(GroupConfig(name="X", limit=1))
    _foreign_ticket(database, "X", run_id="a" * 32, state="running", lease_s=-1)
    _foreign_ticket(database, "X", run_id="b" * 32, state="waiting", lease_s=-1)
    with limiter.slot("X"):
        snap = limiter.snapshot()["X"]
        assert (snap.running, snap.queued) == (1, 0)
    status, error = _status(database, "a" * 32)
    assert status == "lost" and "elsewhere, pid 4242" in error
    assert _status(database, "b" * 32)[0] == "lost"


def test_the_heartbeat_reclaims_dead_tickets_where_nobody_waits(make_shared, database):
    limiter = make_shared(lease_ttl_s=0.3)
    limiter.configure(GroupConfig(name="X", limit=1))
    _foreign_ticket(database, "X", run_id="a" * 32, state="running", lease_s=-1)
    wait_until(lambda: running(limiter, "X") == 0, "the dead ticket was reclaimed")
    assert _status(database, "a" * 32)[0] == "lost"


def test_a_waiter_whose_lease_was_taken_away_is_told(make_shared, database):
    limiter = make_shared()
    limiter.configure(GroupConfig(name="X", limit=1))
    with limiter.slot("X"):
        (waiter,) = enqueue(limiter, "X", 1)
        with database.begin() as connection:
            connection.execute(
                update(TICKETS)
                .where(TICKETS.c.state == "waiting")
                .values(lease_expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
        error = waiter.outcome()
    assert isinstance(error, LeaseLost) and "try again" in str(error)


def test_a_limit_raised_by_hand_in_the_database_admits_waiters_within_a_second(
    make_shared, database
):
    limiter = make_shared()
    limiter.configure(GroupConfig(name="X", limit=1))
    with limiter.slot("X"):
        (waiter,) = enqueue(limiter, "X", 1)
        with database.begin() as connection:
            connection.execute(text('UPDATE concurrency_group SET "limit" = 2'))
        assert waiter.started.wait(1.0)
        waiter.finish()


def test_a_group_deleted_by_hand_refuses_its_waiters(make_shared, database):
    limiter = make_shared()
    limiter.configure(GroupConfig(name="X", limit=1))
    with limiter.slot("X"):
        (waiter,) = enqueue(limiter, "X", 1)
        with database.begin() as connection:
            connection.execute(text("DELETE FROM concurrency_group"))
        assert isinstance(waiter.outcome(), GroupRemoved)
    assert limiter.snapshot() == {}


def test_configure_writes_only_changes_and_bumps_the_version(make_shared, database):
    limiter = make_shared()
    limiter.configure(GroupConfig(name="X", limit=1))
    limiter.configure(GroupConfig(name="X", limit=1))
    assert [g.version for g in limiter.groups()] == [1]
    limiter.configure(GroupConfig(name="x", limit=2))
    assert [(g.name, g.limit, g.version) for g in limiter.groups()] == [("x", 2, 2)]
    limiter.configure(GroupConfig(name="x", limit=2, version=7))
    assert [g.version for g in limiter.groups()] == [7]
    with database.connect() as connection:
        rows = connection.execute(select(GROUPS.c.name, GROUPS.c.limit)).all()
    assert [tuple(row) for row in rows] == [("x", 2)]


def test_group_sync_keeps_working_on_a_shared_limiter(make_shared, database_url):
    limiter = make_shared()
    limiter.configure(GroupConfig(name="X", limit=1))
    sync = GroupSync(get_engine(database_url), limiter)
    sync.refresh()
    assert sync.poll() is False, "applying the table to itself must not change it"
    with get_engine(database_url).begin() as connection:
        connection.execute(text('UPDATE concurrency_group SET "limit" = 3, version = 2'))
    assert sync.poll() is True
    assert [(g.limit, g.version) for g in limiter.groups()] == [(3, 2)]
    assert sync.poll() is False


@pytest.mark.postgres
def test_waiters_poll_while_the_listen_connection_is_down(postgres_url):
    with shared_limiters(postgres_url) as make_shared:
        holder_side, waiter_side = make_shared(), make_shared()
        holder_side.configure(GroupConfig(name="X", limit=1))
        holder = Request(holder_side, "X").start()
        assert holder.started.wait(5)
        (waiter,) = enqueue(waiter_side, "X", 1)
        engine = create_engine(postgres_url)
        with engine.begin() as connection:
            killed = connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE query = 'LISTEN taskgate_limiter'"
                )
            ).scalar_one()
        engine.dispose()
        assert killed >= 2
        holder.finish()
        assert waiter.started.wait(2), "the waiter was not woken by polling"
        waiter.finish()


def test_close_stops_the_background_threads(make_shared):
    limiter = make_shared()
    names = {"taskgate-limiter-watcher", "taskgate-limiter-heartbeat"}
    assert names <= {thread.name for thread in threading.enumerate()}
    before = sum(thread.name in names for thread in threading.enumerate())
    limiter.close()
    assert sum(thread.name in names for thread in threading.enumerate()) == before - 2


def test_the_app_runs_a_shared_limiter_when_asked(sqlite_url):
    app = start_app(Settings(database_url=sqlite_url, limiter="shared", lease_ttl_s=5))
    try:
        assert isinstance(app.limiter, SharedLimiter)
        with app.limiter.slot("A", owner="me", task="matmul"):
            assert app.limiter.snapshot()["A"].running == 1
        # Runs are recorded by the durable-run dispatcher, which holds its slots here too.
        run_id = app.runs.submit("matmul", {"n": 128, "repeats": 2, "dtype": "float32"}, "me")
        assert finished(app, run_id).status == "succeeded"
        with get_engine(sqlite_url).connect() as connection:
            assert connection.execute(select(RUNS.c.status)).scalars().all() == ["succeeded"]
    finally:
        app.close()


@pytest.mark.postgres
def test_group_edits_are_announced_on_postgres(postgres_url):
    """A trigger NOTIFYs every change to concurrency_group, however it was made."""
    engine = create_engine(postgres_url)
    cargs, cparams = engine.dialect.create_connect_args(engine.url)
    try:
        with psycopg.connect(*cargs, **cparams, autocommit=True) as listener:
            listener.execute("LISTEN taskgate_limiter")
            with engine.begin() as connection:
                connection.execute(text('UPDATE concurrency_group SET "limit" = 2'))
            assert list(listener.notifies(timeout=5, stop_after=1)), "no notification"
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_the_migration_goes_down_and_up_again_on_postgres(postgres_url):
    downgrade(postgres_url, "0002")
    upgrade(postgres_url)
    test_group_edits_are_announced_on_postgres(postgres_url)
