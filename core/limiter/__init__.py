"""Named concurrency groups: at most ``limit`` runs at once, the rest wait in FIFO order.

This package knows nothing of Streamlit or the database. It reports the
life of every run to an optional ``RunEvents`` sink, and takes group
settings through ``Limiter.configure``; the app wires both to storage.
"""

from core.limiter.config import GroupConfig
from core.limiter.errors import (
    GroupRemoved,
    LimiterError,
    OwnerLimitReached,
    QueueFull,
    QueueTimeout,
    RunCancelled,
)
from core.limiter.events import RunEvents, RunStatus
from core.limiter.local import Limiter
from core.limiter.records import GroupSnapshot, RunInfo, WaitInfo

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
    "WaitInfo",
]
