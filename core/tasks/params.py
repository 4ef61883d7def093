"""Declared task inputs and their validation: the single source of truth for bounds.

Each task lists its inputs as :class:`FieldSpec` values. The UI builds its form widgets
from those specs and the task's ``parse`` validates against the same specs, so a bound
changed here changes both the form and the check. Refusals are :class:`TaskParamError`
with one sentence a user can act on.

A bound that depends on the device is declared with the field too (``cpu_max``,
``gpu_only``, ``cpu_note``): :meth:`FieldSpec.for_device` gives the field as it applies
on one device, which the form shows (its help text and choices) before Run and the
check enforces after it.
"""

from __future__ import annotations

import dataclasses
import io
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from core.tasks.units import format_bytes

FieldKind = Literal["int", "float", "choice", "bool", "text", "image"]
FieldValue = int | float | str | bool | np.ndarray | None

TRUE_WORDS = ("true", "on", "yes", "1")
FALSE_WORDS = ("false", "off", "no", "0")


class TaskParamError(ValueError):
    """A task input is unusable; the message is one sentence naming the input and the fix.

    ``field`` names the input the sentence is about (None for a rule over several
    inputs), so the form can show the sentence next to that input.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class FieldSpec:
    """One task input: how to label it, its kind, its allowed values and its default.

    ``min``/``max``/``step`` apply to "int" and "float" fields, ``choices`` to
    "choice" fields, ``max`` to "text" (characters) and "image" (bytes) fields;
    the others are None or empty. Build fields with the class methods, which
    take only what makes sense for their kind.
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
    cpu_max: float | None = None
    """A lower ``max`` that applies on the CPU (a run there must stay cancellable)."""
    gpu_only: tuple[str, ...] = ()
    """Choices offered only on an accelerator."""
    cpu_note: str = ""
    """Why the CPU bound exists, added to the help text on the CPU."""
    max_pixels: int | None = None
    """For "image" fields: the most pixels (width x height) an upload may have."""
    required: bool = False
    """For "image" fields: whether a run needs an upload (else it gets None)."""

    @classmethod
    def integer(
        cls,
        name: str,
        label: str,
        low: int,
        high: int,
        default: int,
        step: int = 1,
        help: str = "",
        cpu_max: int | None = None,
        cpu_note: str = "",
    ) -> FieldSpec:
        return cls(
            name, label, "int", low, high, default, step, help, cpu_max=cpu_max, cpu_note=cpu_note
        )

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
    ) -> FieldSpec:
        return cls(name, label, "float", low, high, default, step, help)

    @classmethod
    def choice(
        cls,
        name: str,
        label: str,
        choices: tuple[str, ...],
        default: str,
        help: str = "",
        gpu_only: tuple[str, ...] = (),
        cpu_note: str = "",
    ) -> FieldSpec:
        return cls(
            name,
            label,
            "choice",
            None,
            None,
            default,
            None,
            help,
            choices,
            gpu_only=gpu_only,
            cpu_note=cpu_note,
        )

    @classmethod
    def switch(cls, name: str, label: str, default: bool, help: str = "") -> FieldSpec:
        """An on/off input."""
        return cls(name, label, "bool", None, None, default, None, help)

    @classmethod
    def text(
        cls, name: str, label: str, default: str, max_length: int, help: str = ""
    ) -> FieldSpec:
        """Short text of 1 to ``max_length`` characters, surrounding spaces removed."""
        return cls(name, label, "text", 1, max_length, default, None, help)

    @classmethod
    def image(
        cls,
        name: str,
        label: str,
        max_bytes: int,
        max_pixels: int,
        help: str = "",
        required: bool = True,
    ) -> FieldSpec:
        """An uploaded PNG, JPEG or WebP image, decoded to an (H, W, 3) uint8 array.

        Without an upload a required image is refused; an optional one is None.
        """
        return cls(
            name,
            label,
            "image",
            None,
            max_bytes,
            None,
            None,
            help,
            max_pixels=max_pixels,
            required=required,
        )

    def for_device(self, device: torch.device) -> FieldSpec:
        """This field as it applies on ``device``: the CPU's bounds and note, if it has any."""
        if device.type != "cpu" or not (self.cpu_max is not None or self.gpu_only):
            return self
        note = f"{self.help} {self.cpu_note}".strip()
        if self.cpu_max is not None:
            assert self.max is not None
            return dataclasses.replace(self, max=min(self.max, self.cpu_max), help=note)
        choices = tuple(choice for choice in self.choices if choice not in self.gpu_only)
        return dataclasses.replace(self, choices=choices, help=note)

    def parse(self, raw: object) -> FieldValue:
        """Return ``raw`` as this field's value, or raise :class:`TaskParamError`.

        Numbers may arrive as numbers or as text (form inputs, query strings); booleans,
        NaN, infinities and anything outside the bounds are refused.
        """
        parsers: dict[str, Callable[[object], FieldValue]] = {
            "choice": self._parse_choice,
            "bool": self._parse_bool,
            "text": self._parse_text,
            "image": self._parse_image,
        }
        if self.kind in parsers:
            return parsers[self.kind](raw)
        number = _as_finite_number(raw)
        if self.kind == "int":
            whole = isinstance(number, int) or (number is not None and number.is_integer())
            if number is None or not whole or not self._in_range(number):
                raise self._refusal(f"must be a whole number between {self.range_text()}")
            return int(number)
        if number is None or not self._in_range(number):
            raise self._refusal(f"must be a number between {self.range_text()}")
        return float(number)

    def range_text(self) -> str:
        """E.g. "64 and 2048": the bounds of a number field as people write them."""
        return f"{_format_bound(self.min)} and {_format_bound(self.max)}"

    def _refusal(self, rest: str) -> TaskParamError:
        return TaskParamError(f"{self.label} {rest}.", field=self.name)

    def _parse_choice(self, raw: object) -> str:
        value = raw.strip().lower() if isinstance(raw, str) else None
        if value in self.choices:
            return value
        options = self.choices[0]
        if len(self.choices) > 1:
            options = ", ".join(self.choices[:-1]) + f" or {self.choices[-1]}"
        if value in self.gpu_only:
            raise self._refusal(f"can be {value} only on a GPU; on this device choose {options}")
        raise self._refusal(f"must be one of {options}")

    def _parse_bool(self, raw: object) -> bool:
        if isinstance(raw, bool):
            return raw
        word = raw.strip().lower() if isinstance(raw, str) else None
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise self._refusal("must be on or off")

    def _parse_text(self, raw: object) -> str:
        if not isinstance(raw, str):
            raise self._refusal("must be text")
        text = raw.strip()
        if not text:
            raise self._refusal("must not be empty")
        assert self.max is not None
        if len(text) > self.max:
            raise self._refusal(
                f"must be at most {int(self.max)} characters long (it has {len(text)})"
            )
        if any(not character.isprintable() for character in text):
            raise self._refusal("must be one line of printable characters")
        return text

    def _parse_image(self, raw: object) -> np.ndarray | None:
        """Uploaded bytes (or an already decoded RGB array) as an (H, W, 3) uint8 array."""
        if raw is None:
            if self.required:
                raise self._refusal("is needed: choose an image file to upload")
            return None
        if isinstance(raw, np.ndarray):
            return self._check_pixels(raw)
        if not isinstance(raw, bytes | bytearray):
            raise self._refusal("must be an uploaded image")
        assert self.max is not None
        if len(raw) > self.max:
            raise self._refusal(
                f"must be a file of at most {format_bytes(int(self.max))} "
                f"(this one has {format_bytes(len(raw))})"
            )
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(raw)) as image:
                if image.format not in ("PNG", "JPEG", "WEBP"):
                    raise self._refusal("must be a PNG, JPEG or WebP image")
                self._check_size(image.width, image.height)
                pixels = np.array(image.convert("RGB"))  # a copy torch can write to
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
            raise self._refusal("must be a PNG, JPEG or WebP image") from None
        return pixels

    def _check_pixels(self, pixels: np.ndarray) -> np.ndarray:
        if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
            raise self._refusal("must be an RGB image")
        self._check_size(pixels.shape[1], pixels.shape[0])
        return pixels

    def _check_size(self, width: int, height: int) -> None:
        assert self.max_pixels is not None
        if width * height > self.max_pixels:
            raise self._refusal(
                f"must have at most {self.max_pixels:,} pixels (this one is {width} × {height})"
            )

    def _in_range(self, number: int | float) -> bool:
        assert self.min is not None and self.max is not None
        return self.min <= number <= self.max


def parse_fields(fields: Sequence[FieldSpec], raw: Mapping[str, object]) -> dict[str, Any]:
    """Validate ``raw`` against ``fields``; missing inputs take their defaults.

    Unknown names are refused rather than ignored, so a misspelt input cannot silently
    run the task with a default the user did not ask for. Each value is of its own
    field's kind (typed ``Any`` so that a task's params dataclass can take them as they are).
    """
    names = {field.name for field in fields}
    unknown = sorted(str(name) for name in raw if name not in names)
    if unknown:
        raise TaskParamError(f"There is no setting called {unknown[0]!r} for this task.")
    # An image has no default to fall back on: a missing one is checked like an empty upload.
    return {
        field.name: field.parse(raw.get(field.name))
        if field.name in raw or field.kind == "image"
        else field.default
        for field in fields
    }


def field_problems(fields: Sequence[FieldSpec], raw: Mapping[str, object]) -> dict[str, str]:
    """Each input of ``raw`` that its field refuses, with the sentence: for the form."""
    problems = {}
    for field in fields:
        if field.name in raw:
            try:
                field.parse(raw[field.name])
            except TaskParamError as problem:
                problems[field.name] = str(problem)
    return problems


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
