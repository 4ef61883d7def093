"""Declared task inputs and their validation: the single source of truth for bounds.

Each task lists its inputs as :class:`FieldSpec` values. The UI builds its form widgets
from those specs and the task's ``parse`` validates against the same specs, so a bound
changed here changes both the form and the check. Refusals are :class:`TaskParamError`
with one sentence a user can act on.
"""

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

FieldKind = Literal["int", "float", "choice"]
FieldValue = int | float | str


class TaskParamError(ValueError):
    """A task input is unusable; the message is one sentence naming the input and the fix."""


@dataclass(frozen=True)
class FieldSpec:
    """One task input: how to label it, its kind, its allowed values and its default.

    ``min``/``max``/``step`` apply to "int" and "float" fields, ``choices`` to "choice"
    fields; the others are None or empty.
    """

    name: str
    label: str
    kind: FieldKind
    min: float | None
    max: float | None
    default: FieldValue
    step: float | None = None
    help: str = ""
    choices: tuple[str, ...] = ()

    @classmethod
    def integer(
        cls, name: str, label: str, low: int, high: int, default: int, step: int = 1, help: str = ""
    ) -> "FieldSpec":
        return cls(name, label, "int", low, high, default, step, help)

    @classmethod
    def number(
        cls,
        name: str,
        label: str,
        low: float,
        high: float,
        default: float,
        step: float,
        help: str = "",
    ) -> "FieldSpec":
        return cls(name, label, "float", low, high, default, step, help)

    @classmethod
    def choice(
        cls, name: str, label: str, choices: tuple[str, ...], default: str, help: str = ""
    ) -> "FieldSpec":
        return cls(name, label, "choice", None, None, default, None, help, choices)

    def parse(self, raw: object) -> FieldValue:
        """Return ``raw`` as this field's value, or raise :class:`TaskParamError`.

        Numbers may arrive as numbers or as text (form inputs, query strings); booleans,
        NaN, infinities and anything outside the bounds are refused.
        """
        if self.kind == "choice":
            return self._parse_choice(raw)
        number = _as_finite_number(raw)
        if self.kind == "int":
            whole = isinstance(number, int) or (number is not None and number.is_integer())
            if number is None or not whole or not self._in_range(number):
                raise TaskParamError(
                    f"{self.label} must be a whole number between {self._range_text()}."
                )
            return int(number)
        if number is None or not self._in_range(number):
            raise TaskParamError(f"{self.label} must be a number between {self._range_text()}.")
        return float(number)

    def _parse_choice(self, raw: object) -> str:
        value = raw.strip().lower() if isinstance(raw, str) else None
        if value not in self.choices:
            options = ", ".join(self.choices[:-1]) + f" or {self.choices[-1]}"
            raise TaskParamError(f"{self.label} must be one of {options}.")
        return value

    def _in_range(self, number: int | float) -> bool:
        assert self.min is not None and self.max is not None
        return self.min <= number <= self.max

    def _range_text(self) -> str:
        return f"{_format_bound(self.min)} and {_format_bound(self.max)}"


def parse_fields(fields: Sequence[FieldSpec], raw: Mapping[str, object]) -> dict[str, FieldValue]:
    """Validate ``raw`` against ``fields``; missing inputs take their defaults.

    Unknown names are refused rather than ignored, so a misspelt input cannot silently
    run the task with a default the user did not ask for.
    """
    names = {field.name for field in fields}
    unknown = sorted(str(name) for name in raw if name not in names)
    if unknown:
        raise TaskParamError(f"There is no setting called {unknown[0]!r} for this task.")
    return {
        field.name: field.parse(raw[field.name]) if field.name in raw else field.default
        for field in fields
    }


def _as_finite_number(raw: object) -> int | float | None:
    """``raw`` as an int or float if it is a finite number or the text of one, else None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, numbers.Integral):
        return int(raw)
    if isinstance(raw, numbers.Real):
        number = float(raw)
    elif isinstance(raw, str):
        if "_" in raw:  # int() and float() take "1_0" as ten; no one types that on purpose
            return None
        try:
            return int(raw.strip())
        except ValueError:
            pass
        try:
            number = float(raw.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _format_bound(bound: float | None) -> str:
    """Bounds as people write them: 8192 rather than 8192.0, 0.0001 rather than 1e-04."""
    assert bound is not None
    if float(bound).is_integer():
        return str(int(bound))
    return np.format_float_positional(bound, trim="-")
