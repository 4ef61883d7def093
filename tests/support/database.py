"""Fresh, migrated databases for tests: a SQLite file, or a PostgreSQL schema of its own."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine, text

POSTGRES_URL_VARIABLE = "TASKGATE_TEST_POSTGRES_URL"


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'taskgate.db'}"


def postgres_base_url() -> str | None:
    return os.environ.get(POSTGRES_URL_VARIABLE) or None


@contextmanager
def postgres_schema_url(base_url: str) -> Iterator[str]:
    """A URL whose search_path is a new empty schema, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        separator = "&" if "?" in base_url else "?"
        yield f"{base_url}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
