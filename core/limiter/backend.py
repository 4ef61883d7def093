"""The contract every limiter backend keeps, written down once.

Two backends implement it: ``core.limiter.Limiter`` (slots and queues in
this process) and ``core.shared_limiter.SharedLimiter`` (in the database,
shared by a fleet). Code that only uses a limiter names this Protocol, so
it works with either and a type checker catches anything else passed in;
``core.app.build_limiter`` is the one place that picks a backend. The
behaviour behind each method is pinned by tests/limiter/, which runs every
test against every backend.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol

from core.limiter.config import GroupConfig
from core.limiter.records import GroupSnapshot, RunInfo, WaitInfo


class LimiterBackend(Protocol):
    """Named concurrency groups: at most ``limit`` runs of a group at once, the rest in FIFO."""

    def slot(
        self,
        group: str,
        *,
        owner: str = "anonymous",
        task: str = "",
        params: dict[str, Any] | None = None,
        on_wait: Callable[[WaitInfo], object] | None = None,
        run_id: str | None = None,
    ) -> AbstractContextManager[RunInfo]:
        """Hold one slot of ``group`` for a ``with`` block; every way out gives it back."""
        ...

    def configure(self, config: GroupConfig) -> None:
        """Create a group or replace its settings; waiting requests see them at once."""
        ...

    def remove(self, name: str) -> bool:
        """Delete a group (its waiters get GroupRemoved); False if there was none."""
        ...

    def seed_duration(self, name: str, seconds: float) -> bool:
        """Start a group's ETA estimate from history; False if there is no such group."""
        ...

    def groups(self) -> list[GroupConfig]:
        """Every group's settings, in the order the groups were created."""
        ...

    def snapshot(self) -> dict[str, GroupSnapshot]:
        """Every group's settings and occupancy at one instant, keyed by display name."""
        ...

    def close(self) -> None:
        """Release what the backend holds (threads, connections); the last call made on it."""
        ...
