"""Apply Alembic migrations, safely when several processes start at once.

The app calls ``upgrade()`` once per process at start-up, and ``make run``
calls it before starting Streamlit (``python -m db.migrate``). Two replicas
booting together must not both create the tables, so the upgrade runs under
a lock: a PostgreSQL advisory lock, or an exclusive lock on a file beside
the SQLite database.
"""

from __future__ import annotations

import fcntl
import functools
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from core.settings import Settings, SettingsError, load_settings, shown_url
from db.engine import create_db_engine, sqlite_path
from db.problems import connection_problem, file_problem

ROOT = Path(__file__).resolve().parents[1]
# Any constant works; it only has to be the same in every process.
_PG_LOCK_KEY = 0x7A5C6A7E


def alembic_config(url: str, connection: Connection | None = None) -> Config:
    """An Alembic config for ``url`` that does not depend on the working directory."""
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    config.attributes["database_url"] = url
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    try:
        handle = open(path.with_name(path.name + ".migrate.lock"), "w")
    except OSError as error:
        raise file_problem(path, error) from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Migration(NamedTuple):
    """What an upgrade or downgrade did: the revision before and after (None: no schema)."""

    before: str | None
    after: str | None
    new_file: bool


def upgrade(url: str, revision: str = "head") -> Migration:
    """Bring the database at ``url`` to ``revision`` (default: the newest).

    Raises ``DatabaseUnusable`` (a sentence) when the database cannot be
    reached or created.
    """
    return _run(url, lambda config: command.upgrade(config, revision))


def downgrade(url: str, revision: str = "base") -> Migration:
    """Take the database at ``url`` back to ``revision`` (default: empty)."""
    return _run(url, lambda config: command.downgrade(config, revision))


def _connect(engine: Engine, url: str) -> Connection:
    try:
        return engine.connect()
    except DBAPIError as error:
        raise connection_problem(url, error) from None


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _run(url: str, action) -> Migration:
    path = sqlite_path(url)
    new_file = path is not None and not (path.exists() and path.stat().st_size > 0)
    engine = create_db_engine(url)
    try:
        if path is not None:
            with _file_lock(path), _connect(engine, url) as connection:
                before = _current(connection)
                action(alembic_config(url, connection))
                connection.commit()
                return Migration(before, _current(connection), new_file)
        with _connect(engine, url) as connection:
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
            connection.commit()
            try:
                before = _current(connection)
                action(alembic_config(url, connection))
                connection.commit()
                return Migration(before, _current(connection), new_file)
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
                connection.commit()
    finally:
        engine.dispose()


@functools.cache
def head_revision() -> str | None:
    """The newest revision this code knows (read once: the code does not change while it runs)."""
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


def schema_problem(engine: Engine) -> str | None:
    """Why the database behind ``engine`` cannot serve this code, as a sentence; None when it can.

    One short query: it fails when the database does not answer, and finds
    the schema's revision, which must be this code's head.
    """
    try:
        with engine.connect() as connection:
            current = _current(connection)
    except DBAPIError as error:
        return str(connection_problem(str(engine.url), error))
    head = head_revision()
    if current != head:
        return (
            f"The database's schema is at revision {current}, not {head}; "
            "run python -m db.migrate."
        )
    return None


def describe(migration: Migration, url: str) -> str:
    """One line for ``python -m db.migrate`` to print."""
    path = sqlite_path(url)
    where = str(path) if path is not None else shown_url(url)
    if migration.before is None and migration.new_file:
        return f"created a new database at {where} and migrated it to revision {migration.after}"
    if migration.before is None:
        return f"set up the empty database at {where} and migrated it to revision {migration.after}"
    if migration.before != migration.after:
        return (
            f"migrated the database at {where} from revision {migration.before} "
            f"to {migration.after}"
        )
    return f"the database at {where} is up to date (revision {migration.after})"


def migrate_and_say() -> Settings | None:
    """Migrate the database the environment names and print what was done in one line.

    A bad setting is printed as its one sentence instead, and None returned
    (``python -m db.migrate`` and ``python -m core.prepare`` both start so).
    """
    try:
        settings = load_settings(os.environ)
        migration = upgrade(settings.database_url)
    except SettingsError as error:
        print(f"taskgate: {error}", file=sys.stderr)
        return None
    print(f"taskgate: {describe(migration, settings.database_url)}")
    return settings


def main() -> int:
    """``python -m db.migrate``: migrate, print one line; a bad setting is one sentence, exit 2."""
    return 0 if migrate_and_say() is not None else 2


if __name__ == "__main__":
    raise SystemExit(main())
