"""Who gets a slot, who waits, who is turned away: the one admission policy.

Pure functions of a group's settings and counts. A submit applies
``refusal`` (core/runs/service.py) and a grant ``free_slots``
(core/runs/sql.py), each against counts read in its own transaction:

- a request starts at once only if nobody is queued and the group has room;
- otherwise it queues, unless the owner already has ``per_owner_limit``
  requests in the group (OwnerLimitReached, checked first) or the queue is
  at ``max_queue`` (QueueFull);
- the queue is first come, first served: freed slots go to its head, and a
  paused group hands out none.
"""

from __future__ import annotations

from core.limiter.config import GroupConfig
from core.limiter.errors import LimiterError, OwnerLimitReached, QueueFull


def free_slots(config: GroupConfig, running: int) -> int:
    """How many waiters at the head of the queue may start now (none while paused)."""
    if config.paused:
        return 0
    return max(config.limit - running, 0)


def has_room(config: GroupConfig, running: int) -> bool:
    return free_slots(config, running) > 0


def starts_now(config: GroupConfig, queued: int, running: int) -> bool:
    """True if a new request runs at once: nobody is ahead of it and a slot is free."""
    return not queued and has_room(config, running)


def refusal(
    config: GroupConfig, *, owner_has: int, queued: int, running: int
) -> LimiterError | None:
    """Why a new request from an owner with ``owner_has`` requests in the group is turned
    away, or None if it may start or queue."""
    cap = config.per_owner_limit
    if cap is not None and owner_has >= cap:
        return OwnerLimitReached(config.name, cap)
    if starts_now(config, queued, running):
        return None
    if config.max_queue is not None and queued >= config.max_queue:
        return QueueFull(config.name, config.max_queue)
    return None
