"""How a task's result is stored: pickle, read back by an unpickler that builds only known types.

Results are frozen dataclasses from ``core.tasks`` holding numbers, strings,
tuples and numpy arrays. Pickle keeps them exact and fast (an array is one
buffer, not a list of numbers), but a plain ``pickle.loads`` would run any
callable a stored blob names. The database is shared by every process of a
fleet, so reading a result must not be a way to run code: ``find_class``
allows only classes defined under ``core.tasks``, numpy's array and dtype
reconstructors, and a few plain builtin containers. Anything else fails to
decode with ``ResultUnreadable``.

Two parts of a ``TaskResult`` hold objects of other libraries: a table's
``pandas.DataFrame`` and a figure's Plotly ``Figure``. Their own pickles name
many internal callables, so they are stored as their JSON instead
(``_Pickler.reducer_override``) and rebuilt by the two functions this module
allows by name, ``_table`` and ``_figure``.
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


def _table(split_json: str) -> Any:
    """A DataFrame back from ``to_json(orient="split")``."""
    import pandas as pd

    return pd.read_json(io.StringIO(split_json), orient="split")


def _figure(figure_json: str) -> Any:
    """A Plotly figure back from its JSON."""
    import plotly.io

    return plotly.io.from_json(figure_json)


_REBUILDERS = frozenset({(__name__, "_table"), (__name__, "_figure")})


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        kind = type(obj)
        if kind.__module__.startswith("pandas") and kind.__name__ == "DataFrame":
            return _table, (obj.to_json(orient="split"),)
        if kind.__module__.startswith("plotly") and kind.__name__ == "Figure":
            return _figure, (obj.to_json(),)
        return NotImplemented


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _REBUILDERS:
            return super().find_class(module, name)
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
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=5).dump(result)
    content = buffer.getvalue()
    if len(content) > max_bytes:
        raise ResultTooLarge(len(content), max_bytes)
    return content


def decode(content: bytes) -> Any:
    """A result back from its stored form; ResultUnreadable if it names a disallowed type."""
    return _Unpickler(io.BytesIO(content)).load()
