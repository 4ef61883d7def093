"""The fields of a group form, each with a slot right below it for its sentence.

Numbers are typed into text boxes rather than number steppers: an empty
box means "no cap" and whatever is typed reaches the rules in
core/groups, which answer with a sentence instead of a widget silently
clamping the value.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from core.groups import GroupRecord
from core.settings import MAX_LIMIT

FIELDS = (
    "name",
    "limit",
    "per_owner_limit",
    "max_queue",
    "queue_timeout_s",
    "max_run_s",
    "paused",
    "description",
)


def _text(value: float | int | None) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


def field_keys(prefix: str) -> list[str]:
    return [f"{prefix}:{field}" for field in FIELDS]


def group_fields(
    prefix: str, initial: GroupRecord | None
) -> tuple[dict[str, object], dict[str, DeltaGenerator]]:
    """Draw the fields (inside a form); return their raw values and their error slots."""
    settings = initial.settings if initial is not None else None
    values: dict[str, object] = {}
    slots: dict[str, DeltaGenerator] = {}

    def text(field: str, label: str, value: str, help: str, placeholder: str = "") -> None:
        values[field] = st.text_input(
            label, value=value, key=f"{prefix}:{field}", help=help, placeholder=placeholder
        )
        slots[field] = st.empty()

    text("name", "Name", initial.name if initial else "", "Letters, digits, spaces and - _ .")
    # Field pairs share a row, so a sentence under one field pushes both fields below it down.
    with (row := st.columns(2))[0]:
        text(
            "limit",
            "Limit (runs at once)",
            _text(settings.limit) if settings else "1",
            f"A whole number from 1 to {MAX_LIMIT}.",
        )
    with row[1]:
        text(
            "per_owner_limit",
            "Limit per person (queued or running)",
            _text(settings.per_owner_limit) if settings else "",
            "Empty: no cap per person.",
            placeholder="no cap",
        )
    with (row := st.columns(2))[0]:
        text(
            "max_queue",
            "Queue cap (requests waiting)",
            _text(settings.max_queue) if settings else "",
            "Empty: no cap. 0: never queue, refuse when busy.",
            placeholder="no cap",
        )
    with row[1]:
        text(
            "queue_timeout_s",
            "Queue timeout (seconds)",
            _text(settings.queue_timeout_s) if settings else "",
            "Empty: wait without a limit.",
            placeholder="wait without a limit",
        )
    with (row := st.columns(2))[0]:
        text(
            "max_run_s",
            "Run-time cap (seconds)",
            _text(settings.max_run_s) if settings else "",
            "Empty: no cap. A run still going after this long is stopped as Cancel stops it "
            "and recorded timed out.",
            placeholder="no cap",
        )
    values["paused"] = st.checkbox(
        "Paused (admit nothing new; running runs finish)",
        value=settings.paused if settings else False,
        key=f"{prefix}:paused",
    )
    slots["paused"] = st.empty()
    text("description", "Description", settings.description if settings else "", "Optional.")
    return values, slots


def show_errors(slots: Mapping[str, DeltaGenerator], errors: Mapping[str, str]) -> None:
    """Put each field's sentence in the slot below that field."""
    for field, sentence in errors.items():
        slots[field].error(sentence, icon="⚠️")
