"""How a task's result is stored: pickle, read back by an unpickler that builds only known types.

Results are frozen dataclasses from ``core.tasks`` holding numbers, strings,
tuples and numpy arrays. Pickle keeps them exact and fast (an array is one
buffer, not a list of numbers), but a plain ``pickle.loads`` would run any
callable a stored blob names. The database is shared by every process of a
fleet, so reading a result must not be a way to run code: ``find_class``
allows only classes defined under ``core.tasks``, numpy's array and dtype
reconstructors, and a few plain builtin containers. Anything else fails to
decode with ``ResultUnreadable``.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

_BUILTINS = frozenset(
    {
        "tuple",
        "list",
        "dict",
        "set",
        "frozenset",
        "int",
        "float",
        "complex",
        "str",
        "bytes",
        "bytearray",
        "bool",
        "slice",
        "range",
    }
)
_NUMPY = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "float64"),
        ("numpy", "float32"),
        ("numpy", "int64"),
        ("numpy", "bool_"),
    }
)


class ResultTooLarge(ValueError):
    """The encoded result is over the size a result may take; the message says so."""

    def __init__(self, size: int, cap: int) -> None:
        super().__init__(
            f"The result is {_megabytes(size)}, more than the {_megabytes(cap)} a result may "
            "take (TASKGATE_RESULT_MAX_BYTES); try smaller settings."
        )
        self.size = size
        self.cap = cap


class ResultUnreadable(ValueError):
    """A stored result names a type this codec does not build."""


def _megabytes(size: int) -> str:
    return f"{size / 1024**2:.1f} MB"


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        allowed = (
            (module == "builtins" and name in _BUILTINS)
            or (module, name) in _NUMPY
            or module == "core.tasks"
            or module.startswith("core.tasks.")
        )
        if not allowed:
            raise ResultUnreadable(f"A stored result names {module}.{name}, which is not allowed.")
        value = super().find_class(module, name)
        if module.startswith("core.tasks") and not isinstance(value, type):
            raise ResultUnreadable(f"A stored result names {module}.{name}, which is not a type.")
        return value


def encode(result: object, max_bytes: int) -> bytes:
    """The stored form of ``result``; ResultTooLarge if it is over ``max_bytes``."""
    content = pickle.dumps(result, protocol=5)
    if len(content) > max_bytes:
        raise ResultTooLarge(len(content), max_bytes)
    return content


def decode(content: bytes) -> Any:
    """A result back from its stored form; ResultUnreadable if it names a disallowed type."""
    return _Unpickler(io.BytesIO(content)).load()
