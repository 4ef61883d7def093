"""PostgreSQL's change signals: a NOTIFY per change, heard on a LISTEN connection of its own.

The only module that imports psycopg, loaded only on PostgreSQL (``signals.open_signals``).
"""

from __future__ import annotations

import logging
import threading
import time

import psycopg
from sqlalchemy import Engine

from core.runs.signals import CHANNEL, FALLBACK_S

log = logging.getLogger(__name__)


_SLICE_S = 0.05
"""Longest blocking read of the notification socket, so a kick or close is seen promptly."""

_RECONNECT_EVERY_S = 1.0


class ListenSignals:
    """PostgreSQL: LISTEN on a dedicated autocommit connection, with polling while it is down."""

    fallback_s = FALLBACK_S

    def __init__(self, engine: Engine) -> None:
        self._connect_args = engine.dialect.create_connect_args(engine.url)
        self._kicked = threading.Event()
        self._connection: psycopg.Connection | None = None
        self._next_connect = 0.0
        self._connect()

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self._kicked.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            connection = self._connection or self._connect()
            if connection is None:
                self._kicked.wait(min(left, _SLICE_S))
                continue
            try:
                slice_s = min(left, _SLICE_S)
                notices = list(connection.notifies(timeout=slice_s, stop_after=1))
            except psycopg.Error:
                log.warning("lost the runs' LISTEN connection; polling until it is back")
                self._drop()
                continue
            if notices:
                return True
        self._kicked.clear()
        return True

    def kick(self) -> None:
        self._kicked.set()

    def close(self) -> None:
        self._drop()

    def _connect(self) -> psycopg.Connection | None:
        """A new LISTEN connection, or None if it failed or was tried too recently."""
        if time.monotonic() < self._next_connect:
            return None
        self._next_connect = time.monotonic() + _RECONNECT_EVERY_S
        cargs, cparams = self._connect_args
        try:
            connection = psycopg.connect(*cargs, **cparams, autocommit=True)
            connection.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error:
            log.warning("could not LISTEN for changes to runs; polling meanwhile", exc_info=True)
            return None
        self._connection = connection
        return connection

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except psycopg.Error:
                pass
