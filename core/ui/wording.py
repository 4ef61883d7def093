"""Durations, estimates and outside text, written the way the pages show them."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from core.tasks.params import FieldSpec

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-!|$~])")


def plain(text: str) -> str:
    """``text`` escaped so that Streamlit's markdown shows it literally.

    Error messages and group names come from outside (exceptions, admins); a
    ``*``, ``$`` or ``[link](…)`` in them must not turn into formatting.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def duration(seconds: float) -> str:
    """E.g. "0.42 s", "12.3 s", "4 min 05 s"."""
    if seconds < 1:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def estimate(eta_s: float | None) -> str:
    """A rough wait, e.g. "about 20 s"; estimates are never precise, so neither is this."""
    if eta_s is None:
        return "no estimate yet"
    if eta_s < 1:
        return "any moment now"
    if eta_s < 60:
        return f"about {math.ceil(eta_s)} s"
    return f"about {math.ceil(eta_s / 60)} min"


def settings_line(fields: tuple[FieldSpec, ...], params: Mapping[str, object]) -> str:
    """A run's settings in form order, e.g. "Matrix size 1536 · Data type float32 · Soft on"."""
    known = [
        f"{field.label} {_setting(params[field.name])}" for field in fields if field.name in params
    ]
    return " · ".join(known)


def _setting(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)
