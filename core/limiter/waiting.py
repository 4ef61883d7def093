"""The one waiting loop: how a queued request waits for its turn, in every backend.

A backend supplies a ``Line``: ``look`` says where the request stands now
(None once granted; it raises GroupRemoved, or the shared backend's
LeaseLost, when the request can no longer be granted), and ``sleep`` blocks
until something may have changed. The loop owns everything else, the same
for both backends:

- the queue timeout counts from ``queued_at``, the moment the backend put
  the request in its queue (before ``run_queued`` is reported), and is read
  from the live settings on every look, so editing it applies to requests
  already waiting;
- ``on_wait`` runs on entering the queue and every ``REPORT_EVERY_S`` after,
  on the waiting thread and never under a backend's lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from core.limiter.errors import QueueTimeout
from core.limiter.records import WaitInfo

POLL_S = 0.1
"""Longest single sleep: bounds how stale a waiter's view of its timeout can get."""

REPORT_EVERY_S = 0.1
"""How often ``on_wait`` runs while waiting: the UI's chance to show progress or give up."""


class Turn(Enum):
    """Where a request stands in its group's line, in either backend."""

    QUEUED = "queued"
    GRANTED = "granted"
    REMOVED = "removed"
    """The group was deleted while the request waited."""
    LOST = "lost"
    """Shared backend only: the ticket's lease ran out and the fleet reclaimed it."""


@dataclass(frozen=True)
class Place:
    """A waiting request's place in line, as its backend last knew it."""

    group: str
    queue_timeout_s: float | None
    info: WaitInfo | None = None
    """What to tell ``on_wait``; built only when ``look`` was asked for it."""


class Line(Protocol):
    """One backend's view of one waiting request."""

    def look(self, waited_s: float | None) -> Place | None:
        """Where the request stands (with a WaitInfo if ``waited_s`` is given); None if granted."""
        ...

    def sleep(self, timeout_s: float) -> bool:
        """Block up to ``timeout_s`` or until the standing may have changed; True if granted."""
        ...


def wait_for_turn(
    line: Line, queued_at: float, on_wait: Callable[[WaitInfo], object] | None
) -> None:
    """Return once the request holds its slot; raise QueueTimeout or what ``look`` raises.

    ``queued_at`` is the ``time.monotonic()`` at which the backend queued the
    request: in-process under its lock, shared as the enqueue commit returns. The
    caller gives the place (or a slot granted meanwhile) back if this raises.
    """
    report_due = queued_at
    while True:
        now = time.monotonic()
        due = on_wait is not None and now >= report_due
        place = line.look(now - queued_at if due else None)
        if place is None:
            return
        wait_s = POLL_S
        timeout_s = place.queue_timeout_s
        if timeout_s is not None:
            left = queued_at + timeout_s - now
            if left <= 0:
                raise QueueTimeout(place.group, timeout_s)
            wait_s = min(wait_s, left)
        if on_wait is not None:
            if due and place.info is not None:
                on_wait(place.info)
                report_due = time.monotonic() + REPORT_EVERY_S
                continue
            wait_s = min(wait_s, max(report_due - now, 0.0))
        if line.sleep(wait_s):
            return
