"""Shared limiters on a test database, closed afterwards, and helpers to look inside it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, text

from core.limiter import RunEvents
from core.shared_limiter import SharedLimiter


def clear_groups(url: str) -> None:
    """Delete the groups a new database starts with: the contract assumes a limiter with none."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM concurrency_group"))
    finally:
        engine.dispose()


@contextmanager
def shared_limiters(url: str, **defaults: Any) -> Iterator:
    """A factory of SharedLimiters on ``url`` (starting with no groups), all closed on exit."""
    clear_groups(url)
    made: list[SharedLimiter] = []

    def make(default_limit: int = 1, events: RunEvents | None = None, **options: Any):
        limiter = SharedLimiter(
            url, default_limit=default_limit, events=events, **{**defaults, **options}
        )
        made.append(limiter)
        return limiter

    try:
        yield make
    finally:
        for limiter in made:
            limiter.close()
