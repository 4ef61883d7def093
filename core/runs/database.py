"""Connections for the queue: reads that never block, writes that serialise decisions.

A decision (a submit's refusals, a grant) reads a group's counts and then
writes runs; two processes doing that at once must not both see the same
free slot.

- SQLite allows one writer at a time, but only from the first write on: a
  transaction that reads first could decide on counts another process is
  about to change. So every write transaction here starts with BEGIN
  IMMEDIATE, which takes the write lock before the first read (SQLAlchemy's
  documented recipe: stop the sqlite3 driver from emitting BEGIN, emit our
  own in the engine's ``begin`` event). Threads of one process queue on a
  plain lock first, so SQLite's sleeping busy handler only arbitrates
  between processes.
- PostgreSQL writes are ordinary READ COMMITTED transactions; each one locks
  what it decides on first (``sql.lock_group`` for a submit, ``sql.serialise``
  for a grant or a reordering), so decisions are serialised fleet-wide.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from sqlalchemy import Connection, event

from db.engine import create_db_engine


def _leave_begin_to_sqlalchemy(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None


def _begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class RunDatabase:
    """One engine for reads, one whose transactions serialise decisions (the write lock)."""

    def __init__(self, url: str) -> None:
        self.reader = create_db_engine(url)
        self._write_lock: AbstractContextManager[object]
        if self.reader.dialect.name == "postgresql":
            self._writer = self.reader
            self._write_lock = nullcontext()
        else:
            self._writer = create_db_engine(url)
            event.listen(self._writer, "connect", _leave_begin_to_sqlalchemy)
            event.listen(self._writer, "begin", _begin_immediate)
            self._write_lock = threading.Lock()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that commits on success; on SQLite it holds the database's write lock."""
        with self._write_lock, self._writer.begin() as connection:
            yield connection

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.reader.connect() as connection:
            yield connection

    def dispose(self) -> None:
        self.reader.dispose()
        if self._writer is not self.reader:
            self._writer.dispose()
