"""Time arithmetic in SQL that reads the same on SQLite and PostgreSQL.

Timestamps are SQLModel ``UTCDateTime`` columns: text on SQLite, timestamptz
on PostgreSQL. Charts and percentiles need seconds from them, computed in
the database so that no query has to bring every row into Python. Upserts
(``INSERT ... ON CONFLICT``) exist on both, but SQLAlchemy builds them per
dialect.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, Integer, Table, cast, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement


def epoch_bucket(ts: ColumnElement, bucket_s: int, dialect: str) -> ColumnElement[int]:
    """The index of the ``bucket_s``-second interval that ``ts`` falls in (epoch-aligned)."""
    if dialect == "sqlite":
        return cast(func.strftime("%s", ts), Integer) // bucket_s
    return cast(func.floor(func.extract("epoch", ts) / bucket_s), BigInteger)


def seconds_between(start: ColumnElement, end: ColumnElement, dialect: str) -> ColumnElement[float]:
    """``end - start`` in seconds, with sub-second precision."""
    if dialect == "sqlite":
        return cast((func.julianday(end) - func.julianday(start)) * 86400.0, Float)
    return cast(func.extract("epoch", end - start), Float)


def upsert(table: Table, dialect: str) -> sqlite.Insert | postgresql.Insert:
    """An INSERT into ``table`` that can take ``ON CONFLICT`` clauses on ``dialect``."""
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


def greatest(a: ColumnElement, b: ColumnElement, dialect: str) -> ColumnElement:
    """The larger of two values (SQLite's two-argument ``max`` is PostgreSQL's ``greatest``)."""
    return func.max(a, b) if dialect == "sqlite" else func.greatest(a, b)
