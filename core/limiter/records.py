"""A group as people see it at one instant: its settings and its occupancy."""

from __future__ import annotations

from dataclasses import dataclass

from core.limiter.config import GroupConfig


@dataclass(frozen=True, kw_only=True)
class GroupSnapshot(GroupConfig):
    """A group's settings (every declared one, as its config) and occupancy, read together."""

    running: int
    """Runs holding a slot (granted and starting, or running)."""
    queued: int
    """Runs waiting for a slot."""
    oldest_wait_s: float | None
    """How long the head of the queue has waited; None when nobody waits."""
