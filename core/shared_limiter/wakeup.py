"""How a process learns that the fleet's tickets changed: notifications, or cheap polling.

Each write transaction publishes that it changed something, naming the
tickets it granted (as ``holder:ticket``, so a process acts only on its own).

- PostgreSQL: a NOTIFY, delivered at commit to every process, which LISTENs
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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import psycopg
from sqlalchemy import Connection, Engine, func, select

from core.shared_limiter.stored import Ticket

log = logging.getLogger(__name__)

CHANNEL = "taskgate_limiter"

SQLITE_POLL_S = 0.01
"""How often a SQLite process checks for commits by others (the issue asks for <= 0.1 s)."""

FALLBACK_S = 0.5
"""Longest time between re-reads even without a signal (lease expiry, a lost LISTEN connection)."""

_SLICE_S = 0.05
"""Longest blocking read of the notification socket, so a kick or close is seen promptly."""

_RECONNECT_EVERY_S = 1.0

_PAYLOAD_MAX = 7900
"""NOTIFY payloads must stay under 8000 bytes; a longer list of grants is left out."""


@dataclass(frozen=True)
class Signal:
    """Something may have changed; ``granted`` are tickets someone granted, as (holder, id)."""

    granted: tuple[tuple[str, int], ...] = ()


class Wakeups(Protocol):
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
        cargs, cparams = engine.dialect.create_connect_args(engine.url)
        self._connection = sqlite3.connect(*cargs, **{**cparams, "check_same_thread": False})
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


class ListenWakeups:
    """PostgreSQL: LISTEN on a dedicated autocommit connection, with polling while it is down."""

    fallback_s = FALLBACK_S

    def __init__(self, engine: Engine) -> None:
        self._connect_args = engine.dialect.create_connect_args(engine.url)
        self._kicked = threading.Event()
        self._connection: psycopg.Connection | None = None
        self._next_connect = 0.0
        self._connect()

    def publish(self, connection: Connection, granted: Sequence[Ticket]) -> None:
        payload = " ".join(f"{ticket.holder}:{ticket.id}" for ticket in granted)
        if len(payload) > _PAYLOAD_MAX:
            payload = ""  # receivers re-read instead
        connection.execute(select(func.pg_notify(CHANNEL, payload)))

    def wait(self, timeout: float) -> Signal | None:
        deadline = time.monotonic() + timeout
        while not self._kicked.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if self._connection is None and not self._connect():
                self._kicked.wait(min(left, _SLICE_S))
                continue
            try:
                slice_s = min(left, _SLICE_S)
                notices = list(self._connection.notifies(timeout=slice_s, stop_after=1))
            except psycopg.Error:
                log.warning("lost the limiter's LISTEN connection; polling until it is back")
                self._drop()
                continue
            if notices:
                return Signal(tuple(_grants(notice.payload for notice in notices)))
        self._kicked.clear()
        return Signal()

    def kick(self) -> None:
        self._kicked.set()

    def close(self) -> None:
        self._drop()

    def _connect(self) -> bool:
        if time.monotonic() < self._next_connect:
            return False
        self._next_connect = time.monotonic() + _RECONNECT_EVERY_S
        cargs, cparams = self._connect_args
        try:
            connection = psycopg.connect(*cargs, **cparams, autocommit=True)
            connection.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error:
            log.warning("could not LISTEN for limiter changes; polling meanwhile", exc_info=True)
            return False
        self._connection = connection
        return True

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except psycopg.Error:
                pass


def _grants(payloads: Iterable[str]) -> list[tuple[str, int]]:
    grants = []
    for payload in payloads:
        for item in payload.split():
            holder, _, ticket_id = item.partition(":")
            grants.append((holder, int(ticket_id)))
    return grants


def open_wakeups(engine: Engine) -> Wakeups:
    if engine.dialect.name == "postgresql":
        return ListenWakeups(engine)
    return DataVersionPolling(engine)
