"""Apply Alembic migrations, safely when several processes start at once.

The app calls ``upgrade()`` once per process at start-up, and ``make run``
calls it before starting Streamlit (``python -m db.migrate``). Two replicas
booting together must not both create the tables, so the upgrade runs under
a lock: a PostgreSQL advisory lock, or an exclusive lock on a file beside
the SQLite database.
"""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from db.engine import create_db_engine, sqlite_path

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
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".migrate.lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (default: the newest)."""
    _run(url, lambda config: command.upgrade(config, revision))


def downgrade(url: str, revision: str = "base") -> None:
    """Take the database at ``url`` back to ``revision`` (default: empty)."""
    _run(url, lambda config: command.downgrade(config, revision))


def _run(url: str, action) -> None:
    path = sqlite_path(url)
    engine = create_db_engine(url)
    try:
        if path is not None:
            with _file_lock(path), engine.connect() as connection:
                action(alembic_config(url, connection))
                connection.commit()
        elif engine.dialect.name == "postgresql":
            with engine.connect() as connection:
                connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
                connection.commit()
                try:
                    action(alembic_config(url, connection))
                    connection.commit()
                finally:
                    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
                    connection.commit()
        else:
            with engine.connect() as connection:
                action(alembic_config(url, connection))
                connection.commit()
    finally:
        engine.dispose()


def main() -> int:
    from core.settings import SettingsError, load_settings

    try:
        settings = load_settings(os.environ)
    except SettingsError as error:
        print(f"taskgate: {error}", file=sys.stderr)
        return 2
    upgrade(settings.database_url)
    print(f"taskgate: database is up to date ({settings.database_url})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
