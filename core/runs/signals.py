"""How a process learns that the queue changed elsewhere: notifications, or cheap polling.

Every transaction that changes what the admitter decides on (a submit, a
finish, a cancel, a group's settings) publishes that it did.

- PostgreSQL (listen.py): a NOTIFY, delivered at commit to every process, which LISTENs
  on a connection of its own (a trigger announces changes to
  ``concurrency_group``, by the app or by hand). If that connection breaks,
  the process polls (``fallback_s``) until it is back.
- SQLite has no notifications. Every ``SQLITE_POLL_S`` the process asks
  SQLite whether any other connection has committed since
  (``PRAGMA data_version``, which reads no table) and re-reads only then.

Either way a process also looks every ``fallback_s``, for what no commit
announces: a lease running out, a queue timeout.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from typing import Protocol

from sqlalchemy import Connection, Engine, func, select

log = logging.getLogger(__name__)

CHANNEL = "taskgate_runs"
"""PostgreSQL's channel; migration 0011's trigger on ``concurrency_group`` speaks on it too."""

SQLITE_POLL_S = 0.01
"""How often a SQLite process checks for commits by others: a hand-off across processes
stays well under 0.1 s."""

FALLBACK_S = 0.5
"""Longest time between re-reads even without a signal (lease expiry, a lost LISTEN connection)."""


class Signals(Protocol):
    """A source of "something may have changed" signals for one process."""

    fallback_s: float

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds; True if something may have changed."""

    def kick(self) -> None:
        """Make ``wait`` return now (a change in this process, or a stop)."""

    def close(self) -> None:
        """Release what it holds; called once no thread is in ``wait``."""


def publish(connection: Connection) -> None:
    """Announce a change to every process, inside the transaction that makes it.

    PostgreSQL delivers the NOTIFY at commit (and not at all on a rollback);
    on SQLite the commit itself changes every other connection's data_version.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_notify(CHANNEL, "")))


class DataVersionPolling:
    """SQLite: check ``PRAGMA data_version`` every ``SQLITE_POLL_S`` on a connection of its own."""

    fallback_s = FALLBACK_S

    def __init__(self, engine: Engine) -> None:
        (database,), options = engine.dialect.create_connect_args(engine.url)
        self._connection = sqlite3.connect(database, **{**options, "check_same_thread": False})
        self._version = self._data_version()
        self._kicked = threading.Event()

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if self._kicked.is_set():
                self._kicked.clear()
                return True
            version = self._data_version()
            if version != self._version:
                self._version = version
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._kicked.wait(min(left, SQLITE_POLL_S))

    def kick(self) -> None:
        self._kicked.set()

    def close(self) -> None:
        self._connection.close()

    def _data_version(self) -> int:
        return self._connection.execute("PRAGMA data_version").fetchone()[0]


def open_signals(engine: Engine) -> Signals:
    """PostgreSQL's notifications, or SQLite's polling; psycopg is imported only for the first."""
    if engine.dialect.name == "postgresql":
        from core.runs.listen import ListenSignals

        return ListenSignals(engine)
    return DataVersionPolling(engine)
