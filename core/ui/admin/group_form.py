"""The fields of a group form, each with a slot right below it for its sentence.

Numbers are typed into text boxes rather than number steppers: an empty
box means "no cap" and whatever is typed reaches the rules in
core/groups, which answer with a sentence instead of a widget silently
clamping the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from core.groups import GroupRecord
from core.limiter.config import SETTINGS, Setting

FIELDS = ("name", *(setting.name for setting in SETTINGS))


def _text(value: float | int | None) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


def field_keys(prefix: str) -> list[str]:
    return [f"{prefix}:{field}" for field in FIELDS]


def group_fields(
    prefix: str, initial: GroupRecord | None
) -> tuple[dict[str, object], dict[str, DeltaGenerator]]:
    """Draw the fields (inside a form); return their raw values and their error slots.

    One input per declared setting (core/limiter/config.py), with its label
    and help: numbers in text boxes two to a row (so a sentence under one
    pushes both down), then the yes/no settings, then the texts.
    """
    settings = initial.settings if initial is not None else None
    values: dict[str, object] = {}
    slots: dict[str, DeltaGenerator] = {}

    def text(field: str, label: str, value: str, help: str, placeholder: str = "") -> None:
        values[field] = st.text_input(
            label, value=value, key=f"{prefix}:{field}", help=help, placeholder=placeholder
        )
        slots[field] = st.empty()

    def start(setting: Setting) -> object:
        if settings is not None:
            return getattr(settings, setting.name)
        if setting.default is not MISSING:
            return setting.default
        return setting.wording.minimum

    text("name", "Name", initial.name if initial else "", "Letters, digits, spaces and - _ .")
    numbers = [setting for setting in SETTINGS if setting.kind in ("int", "float")]
    for index in range(0, len(numbers), 2):
        for column, setting in zip(st.columns(2), numbers[index : index + 2], strict=False):
            with column:
                value = start(setting)
                wording = setting.wording
                shown = _text(value) if isinstance(value, int | float) else ""
                text(setting.name, wording.label, shown, wording.help, wording.placeholder)
    for setting in SETTINGS:
        if setting.kind == "bool":
            values[setting.name] = st.checkbox(
                setting.wording.label, value=bool(start(setting)), key=f"{prefix}:{setting.name}"
            )
            slots[setting.name] = st.empty()
    for setting in SETTINGS:
        if setting.kind == "str":
            wording = setting.wording
            text(setting.name, wording.label, str(start(setting) or ""), wording.help)
    return values, slots


def show_errors(slots: Mapping[str, DeltaGenerator], errors: Mapping[str, str]) -> None:
    """Put each field's sentence in the slot below that field."""
    for field, sentence in errors.items():
        slots[field].error(sentence, icon="⚠️")
