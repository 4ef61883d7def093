"""Named concurrency groups: at most ``limit`` runs at once, the rest wait in FIFO order.

This package knows nothing of Streamlit or the database, and imports
neither (tests/limiter/test_limiter_imports.py holds it to that). It holds
the contract every backend keeps (``LimiterBackend``), the in-process
backend (``Limiter``), and what both share: the records, the refusals,
the admission policy and the waiting loop. It reports the life of every run
to an optional ``RunEvents`` sink, and takes group settings through
``configure``; the app wires both to storage. The database backend,
``core.shared_limiter.SharedLimiter``, builds on this package, never the
other way round.
"""

from __future__ import annotations

from core.limiter.backend import LimiterBackend
from core.limiter.config import CREATED_ON_FIRST_USE, GroupConfig
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

__all__ = [
    "CREATED_ON_FIRST_USE",
    "GroupConfig",
    "GroupRemoved",
    "GroupSnapshot",
    "Limiter",
    "LimiterBackend",
    "LimiterError",
    "OwnerLimitReached",
    "QueueFull",
    "QueueTimeout",
    "RunCancelled",
    "RunEvents",
    "RunInfo",
    "RunStatus",
    "UnknownGroup",
    "WaitInfo",
]
