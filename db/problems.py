"""Why Taskgate cannot use the database its URL names, as one sentence an operator can act on.

A wrong ``TASKGATE_DATABASE_URL`` is the likeliest first-run mistake, and
the driver's own error (a traceback through SQLAlchemy, psycopg or sqlite3)
says little about what to change. Each sentence here names the variable,
what is wrong and what to do; the password never appears. ``db.migrate``
prints it and exits, and the page shows it, since ``DatabaseUnusable`` is a
``SettingsError``.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.engine import make_url

from core.settings import DATABASE_URL_VARIABLE, SettingsError, shown_url

VARIABLE = DATABASE_URL_VARIABLE


class DatabaseUnusable(SettingsError):
    """The database URL is well formed, but the database behind it cannot be used."""


def prepare_sqlite_file(path: Path) -> None:
    """Make sure ``path`` can hold a SQLite file, creating its folder; else DatabaseUnusable."""
    if path.is_dir():
        raise DatabaseUnusable(
            f"{VARIABLE} points at {path}, which is a folder; give the path of a database "
            f"file inside it, e.g. sqlite:///{path / 'taskgate.db'}."
        )
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise DatabaseUnusable(
                    f"{VARIABLE} points at {path}, but {parent} is a file, not a folder; "
                    "choose a path whose folders are folders."
                )
            break
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatabaseUnusable(
            f"{VARIABLE} points at {path}, but its folder {path.parent} cannot be created "
            f"({error.strerror or error}); choose a folder you can write to."
        ) from None


def file_problem(path: Path, error: OSError) -> DatabaseUnusable:
    """The sentence for a file beside or at ``path`` that could not be created."""
    return DatabaseUnusable(
        f"{VARIABLE} points at {path}, but Taskgate cannot create files in {path.parent} "
        f"({error.strerror or error}); choose a folder you can write to."
    )


_REFUSED = re.compile(r"connection refused|could not connect|connection timed out", re.I)
_NO_DATABASE = re.compile(r'database "([^"]+)" does not exist', re.I)
_NO_HOST = re.compile(r"could not translate host name|name or service not known|nodename", re.I)
_AUTH = re.compile(r"password authentication failed|no password supplied|role .* does not exist")


def connection_problem(url: str, error: BaseException) -> DatabaseUnusable:
    """The sentence for an error raised while connecting to ``url``."""
    parsed = make_url(url)
    text = str(getattr(error, "orig", None) or error)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database or ""
        return DatabaseUnusable(
            f"{VARIABLE} points at {path}, where Taskgate cannot create or open a SQLite "
            f"database ({_first_line(text)}); choose a file in a folder you can write to."
        )
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    if match := _NO_DATABASE.search(text):
        return DatabaseUnusable(
            f"{VARIABLE} names the database {match.group(1)!r} on {where}, which does not "
            f"exist; create it (createdb {match.group(1)}) or correct the name."
        )
    if _NO_HOST.search(text):
        return DatabaseUnusable(
            f"{VARIABLE} names the host {parsed.host!r}, which cannot be found; "
            "correct the host name."
        )
    if _REFUSED.search(text):
        return DatabaseUnusable(
            f"{VARIABLE} names a PostgreSQL server at {where}, but nothing answers there; "
            "start the server, or correct the host and port."
        )
    if _AUTH.search(text):
        return DatabaseUnusable(
            f"{VARIABLE} names the user {parsed.username!r} on {where}, whom the server "
            "refused; check the user name and password."
        )
    return DatabaseUnusable(f"{VARIABLE} ({shown_url(url)}) cannot be used: {_first_line(text)}.")


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "no reason given"
    return line.rstrip(".")
