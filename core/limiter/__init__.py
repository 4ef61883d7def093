"""Named concurrency groups: at most ``limit`` runs at once, the rest wait in FIFO order.

This package knows nothing of Streamlit or the database. It reports the
life of every run to an optional ``RunEvents`` sink, and takes group
settings through ``Limiter.configure``; the app wires both to storage.

``SharedLimiter``, the same API with slots and queues in the database (see
core/shared_limiter/), can be imported from here too; it is loaded only
when asked for, so importing this package never imports SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.limiter.config import GroupConfig
from core.limiter.errors import (
    GroupRemoved,
    LimiterError,
    OwnerLimitReached,
    QueueFull,
    QueueTimeout,
    RunCancelled,
    UnknownGroup,
)
from core.limiter.events import RunEvents, RunStatus
from core.limiter.local import Limiter
from core.limiter.records import GroupSnapshot, RunInfo, WaitInfo

if TYPE_CHECKING:
    from core.shared_limiter import SharedLimiter

__all__ = [
    "GroupConfig",
    "GroupRemoved",
    "GroupSnapshot",
    "Limiter",
    "LimiterError",
    "OwnerLimitReached",
    "QueueFull",
    "QueueTimeout",
    "RunCancelled",
    "RunEvents",
    "RunInfo",
    "RunStatus",
    "SharedLimiter",
    "UnknownGroup",
    "WaitInfo",
]


def __getattr__(name: str) -> object:
    if name == "SharedLimiter":
        from core.shared_limiter import SharedLimiter

        return SharedLimiter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
