"""Durations, estimates and outside text, written the way the pages show them."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from core.tasks.params import FieldSpec

_ASCII_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_LINK_TRIGGERS = frozenset(".:@")
_WORD_JOINER = "\u2060"


def plain(text: str) -> str:
    """``text`` as Markdown that Streamlit shows literally, character for character.

    The one way every page shows text people typed or that came from
    outside (group names and descriptions, owners, task and error messages)
    in anything that renders Markdown: ``st.markdown``, ``st.caption``,
    alerts, button labels, progress text and ``st.table`` cells. Two steps:

    - every ASCII punctuation character gets a backslash, which CommonMark
      defines as "this character, literally": no ``**bold**``, ``~~strike~~``,
      ``[links](…)``, ``$maths$``, ``:red[colour]`` or ``:emoji:`` codes;
    - a word joiner (U+2060, invisible and zero-width) goes before every
      ``.``, ``:`` and ``@``. GitHub-flavoured Markdown turns ``www.x.y``,
      ``https://…`` and ``a@b.c`` into links after escapes are resolved, by
      matching those characters; the joiner breaks the match and shows nothing.

    ``st.dataframe`` cells and widget values are never Markdown: give them
    the text itself.
    """
    return _ASCII_PUNCTUATION.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    character = match.group(1)
    return (_WORD_JOINER if character in _LINK_TRIGGERS else "") + "\\" + character


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
