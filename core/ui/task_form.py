"""A task's settings form, built from its ``FieldSpec``s so the form and the checks agree.

The widgets sit in an ``st.form``: editing a value does not rerun the page,
and a rerun is what abandons a run in progress, so the only things that end
a run early are Cancel and leaving the page. Every widget has a key in
``st.session_state``; that is how the submit callback reads the values and
how "Run again" on the My runs page fills the form in.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np
import streamlit as st

from core.tasks.device import pick_device
from core.tasks.params import FieldSpec, FieldValue, TaskParamError, field_problems
from core.tasks.registry import TaskSpec
from core.ui.wording import plain

FIELDS_PER_ROW = 3
IMAGE_TYPES = ("png", "jpg", "jpeg", "webp")


def widget_key(spec: TaskSpec, field: FieldSpec) -> str:
    return f"taskgate.form.{spec.key}.{field.name}"


def _prefill_key(spec: TaskSpec) -> str:
    return f"taskgate.prefill.{spec.key}"


def _problems_key(spec: TaskSpec) -> str:
    return f"taskgate.form_problems.{spec.key}"


def _decimals(number: float) -> int:
    text = np.format_float_positional(number, trim="-")
    return len(text.partition(".")[2])


def _number_format(field: FieldSpec) -> str:
    """Enough decimals to show the step, the minimum and the default, e.g. "%.4f" for 0.0001."""
    assert field.step is not None and field.min is not None
    assert isinstance(field.default, int | float)
    shown = (field.step, field.min, float(field.default))
    return f"%.{max(2, *(_decimals(number) for number in shown))}f"


def help_text(field: FieldSpec) -> str | None:
    """The field's help, with its bounds on this device spelt out for the kinds that have them.

    Number inputs carry no min/max of their own: the browser would quietly clamp a
    value typed out of range, where the check's sentence says what is allowed.
    """
    if field.kind in ("int", "float"):
        bounds = f"Between {field.range_text()}."
    elif field.kind == "text":
        assert field.max is not None
        bounds = f"At most {int(field.max)} characters."
    elif field.kind == "image":
        assert field.max is not None and field.max_pixels is not None
        bounds = (
            f"PNG, JPEG or WebP, at most {field.max / 1024**2:g} MiB "
            f"and {field.max_pixels:,} pixels."
        )
    else:
        bounds = ""
    return " ".join(part for part in (field.help, bounds) if part) or None


def _start_value(field: FieldSpec, start_from: Mapping[str, object] | None) -> object:
    """The value a field starts at: the shown run's, if it has one that still fits, else the
    default."""
    if start_from is None or field.name not in start_from or field.kind == "image":
        return field.default
    try:
        return field.parse(start_from[field.name])
    except TaskParamError:
        return field.default


def _seed(spec: TaskSpec, field: FieldSpec, start_from: Mapping[str, object] | None) -> str:
    """The widget's key, holding a value it can show (the start value unless one is set)."""
    key = widget_key(spec, field)
    # Seeding the key (instead of passing ``value``) lets a prefilled value win
    # without Streamlit's "default value and Session State" warning. A choice the
    # device does not offer (a float16 run again on the CPU) falls back too.
    stale = field.kind == "choice" and st.session_state.get(key) not in field.choices
    if field.kind != "image" and (key not in st.session_state or stale):
        start = _start_value(field, start_from)
        ok = field.kind != "choice" or start in field.choices
        st.session_state[key] = start if ok else field.default
    return key


def _field_widget(
    spec: TaskSpec, field: FieldSpec, disabled: bool, start_from: Mapping[str, object] | None
) -> None:
    key = _seed(spec, field, start_from)
    label, hint = field.label, help_text(field)
    if field.kind == "choice":
        st.selectbox(label, field.choices, key=key, help=hint, disabled=disabled)
    elif field.kind == "bool":
        st.toggle(label, key=key, help=hint, disabled=disabled)
    elif field.kind == "text":
        assert field.max is not None
        st.text_input(label, key=key, max_chars=int(field.max), help=hint, disabled=disabled)
    elif field.kind == "image":
        assert field.max is not None
        st.file_uploader(
            label,
            type=list(IMAGE_TYPES),
            key=key,
            help=hint,
            disabled=disabled,
            # The box then says the field's own cap ("5MB per file"), not the server's 200 MB.
            max_upload_size=max(1, math.ceil(field.max / 1024**2)),
        )
    elif field.kind == "int":
        assert field.step is not None
        st.number_input(label, step=int(field.step), key=key, help=hint, disabled=disabled)
    else:
        st.number_input(
            label,
            step=field.step,
            format=_number_format(field),
            key=key,
            help=hint,
            disabled=disabled,
        )
    problem = st.session_state.get(_problems_key(spec), {}).get(field.name)
    if problem:
        st.error(plain(problem), icon=":material/error:")


def _submit(spec: TaskSpec, fields: tuple[FieldSpec, ...], on_submit: Callable[[], None]) -> None:
    """Run's callback: a value its field refuses is told next to the field, and nothing runs."""
    problems = field_problems(fields, form_values(spec))
    st.session_state[_problems_key(spec)] = problems
    if not problems:
        on_submit()


def show_task_form(
    spec: TaskSpec,
    *,
    disabled: bool,
    on_submit: Callable[[], None],
    label: str = "Run",
    start_from: Mapping[str, object] | None = None,
) -> None:
    """The settings form and its button (``label``); ``on_submit`` runs before the next run.

    The inputs show the bounds of this process's device. ``disabled`` greys
    everything out. ``start_from`` is the settings of the run the page shows:
    a field this session's form does not hold a value for yet (a reload, a new
    tab) starts at that run's value rather than the default.
    """
    fields = spec.fields_for(pick_device())
    with st.form(f"taskgate.form.{spec.key}"):
        for start in range(0, len(fields), FIELDS_PER_ROW):
            row = fields[start : start + FIELDS_PER_ROW]
            for column, field in zip(st.columns(FIELDS_PER_ROW), row, strict=False):
                with column:
                    _field_widget(spec, field, disabled, start_from)
        st.form_submit_button(
            label,
            # One button whatever its label ("Run", "Run another"): a page that goes on to
            # watch a run never ends its script run, so a new button would sit beside the old.
            key=f"taskgate.run.{spec.key}",
            type="primary",
            on_click=_submit,
            args=(spec, fields, on_submit),
            disabled=disabled,
        )


def form_values(spec: TaskSpec) -> dict[str, object]:
    """The values the form holds now (inputs it never showed are left out)."""
    values: dict[str, object] = {}
    for field in spec.fields:
        key = widget_key(spec, field)
        if key in st.session_state:
            value = st.session_state[key]
            # An uploaded file arrives as Streamlit's UploadedFile; the checks take bytes.
            values[field.name] = value.getvalue() if field.kind == "image" and value else value
    return values


def pin_values(spec: TaskSpec, values: Mapping[str, object]) -> None:
    """Re-set the submitted values from the submit callback, so the greyed-out form shows them.

    Streamlit discards a value that arrives from the browser for a widget drawn
    disabled in the same run (it cannot tell it from a forged one), and the
    form is drawn disabled in exactly the run its submission starts. A value
    set through ``st.session_state`` in a callback is kept.
    """
    for field in spec.fields:
        # Streamlit refuses to set an upload through session_state; it keeps it anyway.
        if field.name in values and field.kind != "image":
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
        # An image is recorded by its size only, so it cannot be filled in again.
        if field.name not in settings or field.kind == "image":
            continue
        try:
            value: FieldValue = field.parse(settings[field.name])
        except TaskParamError as problem:
            value = field.default
            problems.append(str(problem))
        st.session_state[widget_key(spec, field)] = value
    return problems
