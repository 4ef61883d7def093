"""Turning what an admin typed into a group's name and settings, or into sentences.

Forms hand over raw values (text from an input box, or numbers from code)
and get back a clean value object, or ``InvalidGroup`` with one sentence per
wrong field, to show next to that field. ``check_settings`` applies the same
rules, with the same sentences, to a ``GroupSettings`` built in code: the
service calls it on every write, so a caller that skipped the form (a
script, another page) cannot store a limit of 3.5 or a megabyte of
description. Nothing here touches the database: the service checks what
needs it (duplicate names) and writes only what got through.

Names are shown in Markdown all over the app and typed into code, so they
are limited to letters, digits, spaces and ``- _ .``; markup and control or
invisible characters get sentences of their own because they are the
likely mistakes (a pasted tab, an HTML tag).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import MISSING
from typing import Any

from core.groups.errors import InvalidGroup
from core.limiter.config import MAX_LIMIT, SETTINGS, GroupSettings, Setting
from db.models import GROUP_NAME_MAX

DESCRIPTION_MAX = 200
MAX_QUEUE_CAP = 100_000
MIN_QUEUE_TIMEOUT_S = 0.1
"""Shorter than a waiting request's first check: it could only ever time out."""
MAX_QUEUE_TIMEOUT_S = 7 * 24 * 3600.0
MAX_RUN_S = 7 * 24 * 3600.0

_MARKUP = set("<>&*`[]{}#|\\\"'")
_NAME_PUNCTUATION = set(" -_.")
_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)
_DIGIT_RUNS = re.compile(r"([0-9]+)")
_MAX_DIGITS = 12  # beyond any bound below, and short of Python's int-parsing limit
_FAR_TOO_LARGE = 10**_MAX_DIGITS


# -- names --------------------------------------------------------------------


def _name_problem(name: str) -> str | None:
    if not name:
        return "Give the group a name."
    if len(name) > GROUP_NAME_MAX:
        return (
            f"A group name can have at most {GROUP_NAME_MAX} characters (this one has {len(name)})."
        )
    if any(unicodedata.category(ch)[0] in "CZ" and ch != " " for ch in name):
        return (
            "A group name cannot contain control or invisible characters "
            "(such as a tab, a line break or a zero-width space)."
        )
    if any(ch in _MARKUP for ch in name):
        return "A group name cannot contain markup; use only letters, digits, spaces and - _ ."
    if not all(ch in _NAME_PUNCTUATION or unicodedata.category(ch)[0] in "LNM" for ch in name):
        return "A group name may use only letters, digits, spaces and - _ ."
    return None


def group_sort_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Names in the order people expect: ignoring case, and G2 before G10."""
    return tuple(
        (0, int(part)) if part.isascii() and part.isdigit() else (1, part.casefold())
        for part in _DIGIT_RUNS.split(name)
        if part
    )


def clean_name(raw: object) -> str:
    """The name to store for ``raw`` (trimmed, NFC); InvalidGroup with a sentence if unusable."""
    name = unicodedata.normalize("NFC", raw.strip()) if isinstance(raw, str) else ""
    problem = _name_problem(name)
    if problem is not None:
        raise InvalidGroup({"name": problem})
    return name


# -- numbers ------------------------------------------------------------------


class _Bad(ValueError):
    """One field's sentence, raised by a field parser and collected per field."""


def _number(raw: object, what: str, *, whole: bool, typed: bool) -> float | None:
    """``raw`` as a finite number, None when left empty; _Bad otherwise.

    ``typed`` is for values from code (``check_settings``), where a number
    must already be a number: the text ``'5'`` is a mistake there, not input.
    Text is written with digits only: Python's ``float()`` would also take
    ``1_0`` as ten, which no one types on purpose.
    """
    kind = "whole number" if whole else "number"
    if isinstance(raw, bool):
        raise _Bad(f"{what} must be a {kind}.")
    if raw is None or (not typed and isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, int):
        value: float = raw
    elif isinstance(raw, float):
        value = raw
    elif isinstance(raw, str) and not typed:
        text = raw.strip()
        if _INTEGER.fullmatch(text):
            if len(text.lstrip("+-")) > _MAX_DIGITS:
                raise _Bad(f"{what} is far too large.")
            return int(text)
        try:
            value = float(text) if text.isascii() and "_" not in text else math.nan
        except ValueError:
            value = math.nan
    else:
        raise _Bad(f"{what} must be a {kind}.")
    if math.isnan(value):
        raise _Bad(f"{what} must be a {kind}, written with digits.")
    if math.isinf(value):
        raise _Bad(f"{what} must be a finite {kind}.")
    if abs(value) > _FAR_TOO_LARGE:
        raise _Bad(f"{what} is far too large.")
    if whole:
        if isinstance(value, float) and not value.is_integer():
            raise _Bad(f"{what} must be a whole number, without a fraction.")
        return int(value)
    return float(value)


def _limit(raw: object, typed: bool) -> int:
    value = _number(raw, "The limit", whole=True, typed=typed)
    if value is None:
        raise _Bad(f"Give the group a limit: a whole number from 1 to {MAX_LIMIT}.")
    if not 1 <= value <= MAX_LIMIT:
        raise _Bad(f"The limit must be from 1 to {MAX_LIMIT} (not {value}).")
    return int(value)


def _max_queue(raw: object, typed: bool) -> int | None:
    value = _number(raw, "The queue cap", whole=True, typed=typed)
    if value is None:
        return None
    if value < 0:
        raise _Bad(
            f"The queue cap cannot be negative (not {value}); use 0 to never queue, "
            "or leave it empty for no cap."
        )
    if value > MAX_QUEUE_CAP:
        raise _Bad(f"The queue cap can be at most {MAX_QUEUE_CAP:,}; leave it empty for no cap.")
    return int(value)


def _queue_timeout(raw: object, typed: bool) -> float | None:
    value = _number(raw, "The queue timeout", whole=False, typed=typed)
    if value is None:
        return None
    if value < MIN_QUEUE_TIMEOUT_S:
        raise _Bad(
            f"The queue timeout must be at least {MIN_QUEUE_TIMEOUT_S:g} seconds "
            f"(not {value:g}); leave it empty to wait without a limit."
        )
    if value > MAX_QUEUE_TIMEOUT_S:
        raise _Bad(
            f"The queue timeout can be at most {MAX_QUEUE_TIMEOUT_S:,.0f} seconds (7 days); "
            "leave it empty to wait without a limit."
        )
    return float(value)


def _max_run(raw: object, typed: bool) -> float | None:
    value = _number(raw, "The run-time cap", whole=False, typed=typed)
    if value is None:
        return None
    if value <= 0:
        raise _Bad(
            f"The run-time cap must be more than 0 seconds (not {value:g}); "
            "leave it empty to let runs take as long as they need."
        )
    if value > MAX_RUN_S:
        raise _Bad(
            f"The run-time cap can be at most {MAX_RUN_S:,.0f} seconds (7 days); "
            "leave it empty to let runs take as long as they need."
        )
    return float(value)


def _per_owner_limit(raw: object, typed: bool) -> int | None:
    value = _number(raw, "The limit per person", whole=True, typed=typed)
    if value is None:
        return None
    if not 1 <= value <= MAX_LIMIT:
        raise _Bad(
            f"The limit per person must be from 1 to {MAX_LIMIT} (not {value}); "
            "leave it empty for no cap."
        )
    return int(value)


def _paused(raw: object, typed: bool) -> bool:
    if isinstance(raw, bool):
        return raw
    raise _Bad("Paused must be yes or no.")


def _description(raw: object, typed: bool) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise _Bad("The description must be text.")
    text = unicodedata.normalize("NFC", raw.strip())
    if len(text) > DESCRIPTION_MAX:
        raise _Bad(
            f"The description can have at most {DESCRIPTION_MAX} characters "
            f"(this one has {len(text)})."
        )
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text):
        raise _Bad("The description cannot contain control characters such as line breaks.")
    return text


Parser = Callable[[object, bool], Any]

_OWN_PARSERS: dict[str, Parser] = {
    "limit": _limit,
    "paused": _paused,
    "max_queue": _max_queue,
    "queue_timeout_s": _queue_timeout,
    "per_owner_limit": _per_owner_limit,
    "max_run_s": _max_run,
    "description": _description,
}
"""Settings whose sentences say more than their declared bounds (what empty means, ...)."""


def _declared_parser(setting: Setting) -> Parser:
    """A parser from the declaration alone: its type, whether it may be empty, its bounds."""
    wording = setting.wording
    what = "The " + wording.audit

    def parse(raw: object, typed: bool) -> Any:
        if setting.kind == "bool":
            if isinstance(raw, bool):
                return raw
            raise _Bad(f"{what} must be yes or no.")
        if setting.kind == "str":
            if raw is None:
                return ""
            if not isinstance(raw, str):
                raise _Bad(f"{what} must be text.")
            return unicodedata.normalize("NFC", raw.strip())
        value = _number(raw, what, whole=setting.kind == "int", typed=typed)
        if value is None:
            if setting.optional:
                return None
            raise _Bad(f"Give the group a value for {wording.audit}.")
        low, high = wording.minimum, wording.maximum
        if (low is not None and value < low) or (high is not None and value > high):
            raise _Bad(f"{what} must be from {low:g} to {high:g} (not {value:g}).")
        return value

    return parse


_PARSERS: dict[str, Parser] = {
    setting.name: _OWN_PARSERS.get(setting.name) or _declared_parser(setting)
    for setting in SETTINGS
}
_DEFAULTS = {s.name: s.default for s in SETTINGS if s.default is not MISSING}


def _settings(form: Mapping[str, object], *, typed: bool) -> GroupSettings:
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field, parse in _PARSERS.items():
        try:
            values[field] = parse(form.get(field, _DEFAULTS.get(field)), typed)
        except _Bad as bad:
            errors[field] = str(bad)
    if errors:
        raise InvalidGroup(errors)
    return GroupSettings(**values)


def clean_settings(form: Mapping[str, object]) -> GroupSettings:
    """Check every settings field of ``form``; InvalidGroup lists a sentence per bad field.

    Missing optional fields take their defaults; ``limit`` is required.
    """
    return _settings(form, typed=False)


def check_settings(settings: GroupSettings) -> GroupSettings:
    """``settings`` as the rules allow them (whole numbers as ``int``); InvalidGroup if not.

    A ``GroupSettings`` is a plain value that code can build with anything in
    it, so the service checks it again before writing: the same rules and
    sentences as the form, except that numbers must be numbers, not text.
    """
    if not isinstance(settings, GroupSettings):
        raise TypeError(f"expected GroupSettings, not {type(settings).__name__}")
    return _settings(settings.as_dict(), typed=True)


def clean_form(form: Mapping[str, object]) -> tuple[str, GroupSettings]:
    """The name and settings of a whole group form, with every field's sentence at once."""
    errors: dict[str, str] = {}
    name = settings = None
    try:
        name = clean_name(form.get("name"))
    except InvalidGroup as invalid:
        errors.update(invalid.errors)
    try:
        settings = clean_settings(form)
    except InvalidGroup as invalid:
        errors.update(invalid.errors)
    if errors:
        raise InvalidGroup(errors)
    assert name is not None and settings is not None
    return name, settings
