"""Groups' settings and the admission rules: pure, with no database and no Streamlit.

``config`` declares every setting of a group once; ``policy`` is the one
admission policy (who may start, who is refused and why), which the run
service applies to a submit and ``core.runs.sql.choose`` to a grant;
``errors`` are its refusals, sentences for the person who asked;
``queue_eta`` estimates a queue's waits. The queue itself is ``task_run``
(core/runs/).
"""

from __future__ import annotations

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
from core.limiter.records import GroupSnapshot

__all__ = [
    "CREATED_ON_FIRST_USE",
    "GroupConfig",
    "GroupRemoved",
    "GroupSnapshot",
    "LimiterError",
    "OwnerLimitReached",
    "QueueFull",
    "QueueTimeout",
    "RunCancelled",
    "UnknownGroup",
]
