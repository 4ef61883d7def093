"""Database errors that pass, and retrying the work they interrupted.

A PostgreSQL server that restarts, a backend killed by an admin or a
network blip breaks the connections in use; a SQLite writer that holds the
lock longer than the busy timeout makes a write fail with "database is
locked". Both are ``OperationalError``s, and the same statement works a
moment later on a fresh connection (pools ping PostgreSQL connections before
handing them out, see ``db.engine``). Errors that say the statement itself
is wrong (a constraint, bad data) are not transient and are never retried.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_WAIT_S = 0.05
MAX_WAIT_S = 2.0


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` may well not happen again on a new try (a lost connection, a lock)."""
    if isinstance(error, OperationalError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def backoff_s(attempt: int, first_s: float = FIRST_WAIT_S, most_s: float = MAX_WAIT_S) -> float:
    """The pause before try ``attempt + 1``: doubling from ``first_s``, at most ``most_s``."""
    return min(most_s, first_s * 2 ** (attempt - 1))


def reason(error: BaseException) -> str:
    """The first line of the driver's message, for a log line."""
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def retrying(
    work: Callable[[], T],
    what: str,
    *,
    attempts: int = 8,
    sleep: Callable[[float], object] = time.sleep,
) -> T:
    """``work()``, tried again after a transient error, up to ``attempts`` times in all.

    ``work`` must be safe to repeat: each try runs its own transaction, and a
    failed one was rolled back. The last error, or any other, is raised.
    """
    attempt = 1
    while True:
        try:
            return work()
        except DBAPIError as error:
            if not is_transient(error) or attempt >= attempts:
                raise
            wait_s = backoff_s(attempt)
            log.warning(
                "%s failed (%s); trying again in %.2f s (%d of %d)",
                what,
                reason(error),
                wait_s,
                attempt + 1,
                attempts,
            )
            sleep(wait_s)
            attempt += 1
