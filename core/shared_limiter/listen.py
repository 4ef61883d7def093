"""PostgreSQL's change signals: a NOTIFY per write, heard on a LISTEN connection of its own.

The only module that imports psycopg, loaded only when the shared limiter
runs on PostgreSQL (``signals.open_signals``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence

import psycopg
from sqlalchemy import Connection, Engine, func, select

from core.shared_limiter.rows import Ticket
from core.shared_limiter.signals import FALLBACK_S, Signal

log = logging.getLogger(__name__)

CHANNEL = "taskgate_limiter"

_SLICE_S = 0.05
"""Longest blocking read of the notification socket, so a kick or close is seen promptly."""

_RECONNECT_EVERY_S = 1.0

_PAYLOAD_MAX = 7900
"""NOTIFY payloads must stay under 8000 bytes; a longer list of grants is left out."""


class ListenSignals:
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
            connection = self._connection or self._connect()
            if connection is None:
                self._kicked.wait(min(left, _SLICE_S))
                continue
            try:
                slice_s = min(left, _SLICE_S)
                notices = list(connection.notifies(timeout=slice_s, stop_after=1))
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
            log.warning("could not LISTEN for limiter changes; polling meanwhile", exc_info=True)
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


def _grants(payloads: Iterable[str]) -> list[tuple[str, int]]:
    grants = []
    for payload in payloads:
        for item in payload.split():
            holder, _, ticket_id = item.partition(":")
            grants.append((holder, int(ticket_id)))
    return grants
