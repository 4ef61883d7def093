"""A task's settings form, built from its ``FieldSpec``s so the form and the checks agree.

The widgets sit in an ``st.form``: editing a value does not rerun the page,
and a rerun is what abandons a run in progress, so the only things that end
a run early are Cancel and leaving the page. Every widget has a key in
``st.session_state``; that is how the submit callback reads the values and
how "Run again" on the My runs page fills the form in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import streamlit as st

from core.tasks.params import FieldSpec, FieldValue, TaskParamError
from core.tasks.registry import TaskSpec

FIELDS_PER_ROW = 3


def widget_key(spec: TaskSpec, field: FieldSpec) -> str:
    return f"taskgate.form.{spec.key}.{field.name}"


def _prefill_key(spec: TaskSpec) -> str:
    return f"taskgate.prefill.{spec.key}"


def _decimals(number: float) -> int:
    text = np.format_float_positional(number, trim="-")
    return len(text.partition(".")[2])


def _number_format(field: FieldSpec) -> str:
    """Enough decimals to show the step, the minimum and the default, e.g. "%.4f" for 0.0001."""
    assert field.step is not None and field.min is not None
    shown = (field.step, field.min, float(field.default))
    return f"%.{max(2, *(_decimals(number) for number in shown))}f"


def _field_widget(spec: TaskSpec, field: FieldSpec, disabled: bool) -> None:
    key = widget_key(spec, field)
    # Seeding the key (instead of passing ``value``) lets a prefilled value win
    # without Streamlit's "default value and Session State" warning.
    if key not in st.session_state:
        st.session_state[key] = field.default
    help_text = field.help or None
    if field.kind == "choice":
        st.selectbox(field.label, field.choices, key=key, help=help_text, disabled=disabled)
    elif field.kind == "int":
        assert field.min is not None and field.max is not None and field.step is not None
        st.number_input(
            field.label,
            min_value=int(field.min),
            max_value=int(field.max),
            step=int(field.step),
            key=key,
            help=help_text,
            disabled=disabled,
        )
    else:
        st.number_input(
            field.label,
            min_value=field.min,
            max_value=field.max,
            step=field.step,
            format=_number_format(field),
            key=key,
            help=help_text,
            disabled=disabled,
        )


def show_task_form(spec: TaskSpec, *, disabled: bool, on_submit: Callable[[], None]) -> None:
    """The settings form and its Run button; ``on_submit`` runs before the page's next run.

    ``disabled`` greys everything out while a run is in progress, so nothing
    on the form can rerun (and so cancel) it.
    """
    with st.form(f"taskgate.form.{spec.key}"):
        for start in range(0, len(spec.fields), FIELDS_PER_ROW):
            row = spec.fields[start : start + FIELDS_PER_ROW]
            for column, field in zip(st.columns(FIELDS_PER_ROW), row, strict=False):
                with column:
                    _field_widget(spec, field, disabled)
        st.form_submit_button("Run", type="primary", on_click=on_submit, disabled=disabled)


def form_values(spec: TaskSpec) -> dict[str, object]:
    """The values the form holds now (inputs it never showed are left out)."""
    values = {}
    for field in spec.fields:
        key = widget_key(spec, field)
        if key in st.session_state:
            values[field.name] = st.session_state[key]
    return values


def pin_values(spec: TaskSpec, values: Mapping[str, object]) -> None:
    """Re-set the submitted values from the submit callback, so the greyed-out form shows them.

    Streamlit discards a value that arrives from the browser for a widget drawn
    disabled in the same run (it cannot tell it from a forged one), and the
    form is drawn disabled in exactly the run its submission starts. A value
    set through ``st.session_state`` in a callback is kept.
    """
    for field in spec.fields:
        if field.name in values:
            st.session_state[widget_key(spec, field)] = values[field.name]


def request_prefill(spec: TaskSpec, settings: Mapping[str, object]) -> None:
    """Ask ``spec``'s page to fill its form with ``settings`` the next time it is shown."""
    st.session_state[_prefill_key(spec)] = dict(settings)


def apply_prefill(spec: TaskSpec) -> list[str] | None:
    """Fill the form from a pending ``request_prefill``; None if there was none.

    Settings are checked field by field: one that no longer fits (bounds
    changed since, or the row was edited by hand) keeps the form's default,
    and its sentence is returned so the page can say so.
    """
    settings = st.session_state.pop(_prefill_key(spec), None)
    if settings is None:
        return None
    problems = []
    for field in spec.fields:
        if field.name not in settings:
            continue
        try:
            value: FieldValue = field.parse(settings[field.name])
        except TaskParamError as problem:
            value = field.default
            problems.append(str(problem))
        st.session_state[widget_key(spec, field)] = value
    return problems
