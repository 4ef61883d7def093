"""One SQLAlchemy engine per database URL and process, with SQLite set up for concurrency.

SQLite serves many script threads and a background writer at once, so every
connection gets WAL (readers never block the writer), a busy timeout (a
writer waits for the lock instead of failing with "database is locked") and
foreign keys (off by default in SQLite).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, Result, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

from db.problems import prepare_sqlite_file

SQLITE_BUSY_TIMEOUT_MS = 10_000

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _set_sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_db_engine(url: str) -> Engine:
    """A new engine for ``url``; creates the SQLite file's folder if it is missing.

    A path that cannot hold a database file raises ``DatabaseUnusable`` with a
    sentence. PostgreSQL connections are pinged when taken from the pool, so
    one the server dropped (a restart, a killed backend) is replaced rather
    than handed out.
    """
    path = sqlite_path(url)
    if path is not None:
        prepare_sqlite_file(path)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        )
        event.listen(engine, "connect", _set_sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def get_engine(url: str) -> Engine:
    """The process-wide engine for ``url`` (engines own connection pools: make one each)."""
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = create_db_engine(url)
        return engine


def dispose_engines() -> None:
    """Close every pooled connection (at shutdown, and between tests)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any exception."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def rows_matched(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE run with ``Session.execute`` matched.

    The session types its result as a plain ``Result``; for those statements
    it is always a ``CursorResult``, which counts them.
    """
    return cast(CursorResult[Any], result).rowcount
