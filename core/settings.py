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

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'data' / 'taskgate.db'}"
MAX_LIMIT = 1024


class SettingsError(ValueError):
    """A setting has a value Taskgate cannot use; the message is one sentence."""


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    default_limit: int = 1
    sample_interval_s: float = 1.0
    retention_days: float = 7.0
    admin_password: str | None = None
    limiter: str = "local"
    lease_ttl_s: float = 15.0
    workers: str = "embedded"
    """"embedded": the web server runs tasks in its own worker processes;
    "external": only ``python -m core.worker`` processes do (needs the shared limiter)."""
    result_max_bytes: int = 64 * 1024**2
    """Largest stored result; 64 MB holds the biggest fractal (3840 x 2160, RGB) with room."""
    cancel_grace_s: float = 5.0
    single_owner: str | None = None
    """Every request is made by this one owner, in every tab and after a reload: for a
    one-person install without sign-in, and for the browser tests."""
    task_modules: tuple[str, ...] = ()
    """Modules imported by the web server and every worker process before tasks are
    looked up, so that they can add tasks to the registry (tests add theirs so)."""

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


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


def _seconds_between(low: float, high: float) -> Callable[[str, str], float]:
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


def _one_of(*choices: str) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            allowed = " or ".join(repr(c) for c in choices)
            raise SettingsError(f"{name} must be {allowed}, not {raw!r}.")
        return value

    return parse


def _database_url(name: str, raw: str) -> str:
    value = _text(name, raw)
    if not value.startswith(("sqlite:", "postgresql")):
        raise SettingsError(
            f"{name} must be a SQLAlchemy URL starting with sqlite:/// or postgresql+psycopg://, "
            f"not {value!r}."
        )
    return value


def _module_names(name: str, raw: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in raw.split(",") if part.strip())
    for module in names:
        if not all(piece.isidentifier() for piece in module.split(".")):
            raise SettingsError(
                f"{name} must be a comma-separated list of Python module names, not {raw!r}."
            )
    return names


# field name -> (variable, parser)
_FIELDS: dict[str, tuple[str, Callable[[str, str], Any]]] = {
    "database_url": ("TASKGATE_DATABASE_URL", _database_url),
    "default_limit": ("TASKGATE_DEFAULT_LIMIT", _int_between(1, MAX_LIMIT)),
    "sample_interval_s": ("TASKGATE_SAMPLE_INTERVAL_S", _seconds_between(0.0, 3600.0)),
    "retention_days": ("TASKGATE_RETENTION_DAYS", _seconds_between(0.0, 3650.0)),
    "admin_password": ("TASKGATE_ADMIN_PASSWORD", _text),
    "limiter": ("TASKGATE_LIMITER", _one_of("local", "shared")),
    "lease_ttl_s": ("TASKGATE_LEASE_TTL_S", _seconds_between(1.0, 3600.0)),
    "workers": ("TASKGATE_WORKERS", _one_of("embedded", "external")),
    "result_max_bytes": ("TASKGATE_RESULT_MAX_BYTES", _int_between(1024, 1024**3)),
    "cancel_grace_s": ("TASKGATE_CANCEL_GRACE_S", _seconds_between(0.0, 600.0)),
    "single_owner": ("TASKGATE_SINGLE_OWNER", _text),
    "task_modules": ("TASKGATE_TASK_MODULES", _module_names),
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
    settings = Settings(**values)
    if settings.workers == "external" and settings.limiter != "shared":
        raise SettingsError(
            "TASKGATE_WORKERS=external needs TASKGATE_LIMITER=shared, so that the worker "
            "processes and the web server share one set of limits."
        )
    return settings
