"""How a process learns that the fleet's tickets changed: notifications, or cheap polling.

Each write transaction publishes that it changed something, naming the
tickets it granted (as ``holder:ticket``, so a process acts only on its own).

- PostgreSQL (listen.py): a NOTIFY, delivered at commit to every process, which LISTENs
  on a connection of its own; a waiter granted by another process is woken
  from the payload alone, with no query. If that connection breaks, the
  process polls (``fallback_s``) until it is back.
- SQLite has no notifications. Every ``SQLITE_POLL_S`` the process asks
  SQLite whether any other connection has committed since
  (``PRAGMA data_version``, which reads no table) and re-reads only then.

Either way a process also re-reads every ``fallback_s``, for what no commit
announces: a lease running out.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection, Engine

from core.shared_limiter.rows import Ticket

log = logging.getLogger(__name__)

SQLITE_POLL_S = 0.01
"""How often a SQLite process checks for commits by others: a hand-off stays well under 0.1 s."""

FALLBACK_S = 0.5
"""Longest time between re-reads even without a signal (lease expiry, a lost LISTEN connection)."""


@dataclass(frozen=True)
class Signal:
    """Something may have changed; ``granted`` are tickets someone granted, as (holder, id)."""

    granted: tuple[tuple[str, int], ...] = ()


class Signals(Protocol):
    """A source of "something may have changed" signals for one process."""

    fallback_s: float

    def publish(self, connection: Connection, granted: Sequence[Ticket]) -> None:
        """Announce a change, inside the write transaction that makes it."""

    def wait(self, timeout: float) -> Signal | None:
        """Block up to ``timeout`` seconds; the signal that came, or None."""

    def kick(self) -> None:
        """Make ``wait`` return now (so that the watcher can stop)."""

    def close(self) -> None:
        """Release what it holds; called once no thread is in ``wait``."""


class DataVersionPolling:
    """SQLite: check ``PRAGMA data_version`` every ``SQLITE_POLL_S`` on a connection of its own."""

    fallback_s = FALLBACK_S

    def __init__(self, engine: Engine) -> None:
        (database,), options = engine.dialect.create_connect_args(engine.url)
        self._connection = sqlite3.connect(database, **{**options, "check_same_thread": False})
        self._version = self._data_version()
        self._kicked = threading.Event()

    def publish(self, connection: Connection, granted: Sequence[Ticket]) -> None:
        """Nothing to send: the commit itself changes every other connection's data_version."""

    def wait(self, timeout: float) -> Signal | None:
        deadline = time.monotonic() + timeout
        while True:
            if self._kicked.is_set():
                self._kicked.clear()
                return Signal()
            version = self._data_version()
            if version != self._version:
                self._version = version
                return Signal()
            left = deadline - time.monotonic()
            if left <= 0:
                return None
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
        from core.shared_limiter.listen import ListenSignals

        return ListenSignals(engine)
    return DataVersionPolling(engine)
