"""The limiter's read-only views: one request, one wait, one group."""

from __future__ import annotations

import os
import random
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from core.limiter.config import GroupConfig, settings_of

_HOST = socket.gethostname()
_process = {"pid": os.getpid()}
"""The pid, read once rather than by a system call per run, and refreshed in forked children."""
os.register_at_fork(after_in_child=lambda: _process.update(pid=os.getpid()))


def _new_run_id() -> str:
    """A random (version 4) UUID drawn from ``random``, not ``os.urandom``.

    The id must be unique, not secret; and ``os.urandom`` releases the GIL,
    which lets other threads reach the queue first and overtake a request
    that arrived before them. ``random`` is reseeded in forked children.
    """
    return uuid.UUID(int=random.getrandbits(128), version=4).hex


@dataclass(kw_only=True)
class RunInfo:
    """One request for a slot, from arrival to release.

    Timestamps are wall-clock (``time.time()``) so they can be stored and
    compared across processes; ``host`` and ``pid`` say which process ran it
    once several share a database.
    """

    id: str = field(default_factory=_new_run_id)
    group: str
    owner: str
    task: str = ""
    params: dict[str, Any] | None = None
    enqueued_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    host: str = _HOST
    pid: int = field(default_factory=lambda: _process["pid"])

    @property
    def wait_s(self) -> float:
        """Time spent before getting a slot (so far, if still waiting)."""
        end = self.started_at or self.finished_at or time.time()
        return max(0.0, end - self.enqueued_at)

    @property
    def run_s(self) -> float | None:
        """Time spent holding the slot (so far, if still running); None if it never ran."""
        if self.started_at is None:
            return None
        return max(0.0, (self.finished_at or time.time()) - self.started_at)


@dataclass(frozen=True)
class WaitInfo:
    """What a waiting request is told each time ``on_wait`` is called.

    ``eta_s`` is None until the group has a duration estimate, and while the
    group is paused, when no estimate would be honest.
    """

    group: str
    position: int
    queued: int
    running: int
    limit: int
    paused: bool
    waited_s: float
    eta_s: float | None


@dataclass(frozen=True, kw_only=True)
class GroupSnapshot(GroupConfig):
    """A group's settings (every declared one, as its config) and occupancy, all read at
    one instant."""

    running: int
    queued: int
    oldest_wait_s: float | None
    avg_run_s: float | None
    waiting: tuple[RunInfo, ...]
    running_runs: tuple[RunInfo, ...]

    @classmethod
    def of(
        cls,
        config: GroupConfig,
        waiting: tuple[RunInfo, ...],
        running_runs: tuple[RunInfo, ...],
        avg_run_s: float | None,
    ) -> GroupSnapshot:
        """A group's snapshot from its settings and its runs; the counts follow from the runs."""
        return cls(
            name=config.name,
            version=config.version,
            **settings_of(config),
            running=len(running_runs),
            queued=len(waiting),
            oldest_wait_s=waiting[0].wait_s if waiting else None,
            avg_run_s=avg_run_s,
            waiting=waiting,
            running_runs=running_runs,
        )
