"""Typed settings, read once from ``TASKGATE_*`` environment variables and secrets.

Every knob a self-hoster may turn lives here, so the rest of the code never
reads the environment itself. A bad value stops start-up with one sentence
that names the variable and what it accepts: a deploy that silently falls
back to a default is worse than one that refuses to start.

Sources, first match wins: the environment, then ``secrets`` (the app passes
``st.secrets``; keys are the same ``TASKGATE_*`` names).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

from core.limiter.config import MAX_LIMIT

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'data' / 'taskgate.db'}"


class SettingsError(ValueError):
    """A setting has a value Taskgate cannot use; the message is one sentence."""


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    default_limit: int = 1
    sample_interval_s: float = 1.0
    retention_days: float = 7.0
    admin_password: str | None = None
    lease_ttl_s: float = 15.0
    guests: str = "run"
    admins: tuple[str, ...] = ()
    workers: str = "embedded"
    """"embedded": the web server runs tasks in its own worker processes;
    "external": only ``python -m core.worker`` processes do."""
    result_max_bytes: int = 64 * 1024**2
    """Largest stored result; 64 MB holds the biggest fractal (3840 x 2160, RGB) with room."""
    cancel_grace_s: float = 5.0
    duplicate_window_s: float = 3.0
    """A second identical submit (same person, task and settings) this soon is refused; 0: off."""
    single_owner: str | None = None
    """Every request is made by this one owner, in every tab and after a reload: for a
    one-person install without sign-in, and for the browser tests."""


def _text(name: str, raw: str) -> str:
    value = raw.strip()
    if not value:
        raise SettingsError(f"{name} is set but empty; unset it or give it a value.")
    return value


def _int_between(low: int, high: int) -> Callable[[str, str], int]:
    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise SettingsError(
                f"{name} must be a whole number from {low} to {high}, not {raw!r}."
            ) from None
        if not low <= value <= high:
            raise SettingsError(f"{name} must be a whole number from {low} to {high}, not {value}.")
        return value

    return parse


def _number_above(low: float, high: float) -> Callable[[str, str], float]:
    """A parser of a number in (low, high]: seconds, days, whatever the variable counts."""

    def parse(name: str, raw: str) -> float:
        try:
            value = float(raw.strip())
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and low < value <= high):
            raise SettingsError(
                f"{name} must be a number greater than {low:g} and at most {high:g}, not {raw!r}."
            )
        return value

    return parse


def _number_from_zero(high: float) -> Callable[[str, str], float]:
    """A parser of a number in [0, high], where 0 turns something off."""

    def parse(name: str, raw: str) -> float:
        try:
            value = float(raw.strip())
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and 0 <= value <= high):
            raise SettingsError(f"{name} must be a number from 0 (off) to {high:g}, not {raw!r}.")
        return value

    return parse


def _one_of(*choices: str) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            allowed = " or ".join(repr(c) for c in choices)
            raise SettingsError(f"{name} must be {allowed}, not {raw!r}.")
        return value

    return parse


DATABASE_URL_VARIABLE = "TASKGATE_DATABASE_URL"
_URL_EXAMPLES = "sqlite:///data/taskgate.db or postgresql+psycopg://user@host:5432/taskgate"


def shown_url(url: str | URL) -> str:
    """A database URL as it may appear in a message or a log: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ValueError, TypeError):
        return "(an unreadable URL)"


def is_in_memory_sqlite(url: URL) -> bool:
    database = url.database or ""
    return url.get_backend_name() == "sqlite" and (
        database in ("", ":memory:")
        or database.startswith("file::memory:")
        or url.query.get("mode") == "memory"
    )


def _database_url(name: str, raw: str) -> str:
    """A URL Taskgate can use, judged without connecting (db.problems judges the rest)."""
    value = _text(name, raw)
    if not value.startswith(("sqlite:", "postgresql")):
        raise SettingsError(
            f"{name} must be a SQLAlchemy URL starting with sqlite:/// or postgresql+psycopg://, "
            f"not {shown_url(value)!r}."
        )
    try:
        url = make_url(value)
    except ValueError:
        port = value.rsplit("@", 1)[-1].split("/", 1)[0].rpartition(":")[2]
        raise SettingsError(
            f"{name} has a port that is not a number ({port!r}); write it like {_URL_EXAMPLES}."
        ) from None
    except Exception:  # SQLAlchemy's ArgumentError: not a URL at all
        raise SettingsError(
            f"{name} is not a URL SQLAlchemy can read; write it like {_URL_EXAMPLES}."
        ) from None
    if is_in_memory_sqlite(url):
        raise SettingsError(
            f"{name} names an in-memory SQLite database ({value!r}), which each connection "
            "sees empty; Taskgate needs a file that all its sessions and processes share, "
            "e.g. sqlite:///data/taskgate.db."
        )
    return value


def _comma_list(name: str, raw: str) -> tuple[str, ...]:
    entries = tuple(entry.strip() for entry in raw.split(",") if entry.strip())
    if not entries:
        raise SettingsError(
            f"{name} is set but lists nobody; unset it or list e-mail addresses or subjects."
        )
    return entries


# field name -> (variable, parser)
_FIELDS: dict[str, tuple[str, Callable[[str, str], Any]]] = {
    "database_url": (DATABASE_URL_VARIABLE, _database_url),
    "default_limit": ("TASKGATE_DEFAULT_LIMIT", _int_between(1, MAX_LIMIT)),
    "sample_interval_s": ("TASKGATE_SAMPLE_INTERVAL_S", _number_above(0.0, 3600.0)),
    "retention_days": ("TASKGATE_RETENTION_DAYS", _number_above(0.0, 3650.0)),
    "admin_password": ("TASKGATE_ADMIN_PASSWORD", _text),
    "lease_ttl_s": ("TASKGATE_LEASE_TTL_S", _number_above(1.0, 3600.0)),
    "guests": ("TASKGATE_GUESTS", _one_of("run", "watch", "none")),
    "admins": ("TASKGATE_ADMINS", _comma_list),
    "workers": ("TASKGATE_WORKERS", _one_of("embedded", "external")),
    "result_max_bytes": ("TASKGATE_RESULT_MAX_BYTES", _int_between(1024, 1024**3)),
    "cancel_grace_s": ("TASKGATE_CANCEL_GRACE_S", _number_above(0.0, 600.0)),
    "duplicate_window_s": ("TASKGATE_DUPLICATE_WINDOW_S", _number_from_zero(60.0)),
    "single_owner": ("TASKGATE_SINGLE_OWNER", _text),
}


def load_settings(environ: Mapping[str, str], secrets: Mapping[str, Any] | None = None) -> Settings:
    """Build Settings from the environment, then secrets; raise SettingsError on a bad value."""
    values: dict[str, Any] = {}
    for field, (variable, parse) in _FIELDS.items():
        raw = environ.get(variable)
        if raw is None and secrets is not None and variable in secrets:
            raw = str(secrets[variable])
        if raw is not None:
            values[field] = parse(variable, raw)
    return Settings(**values)
