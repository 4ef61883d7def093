"""Who gets a slot, who waits, who is turned away: the admission rules of every backend.

Pure functions of a group's settings and counts, so the in-process limiter
(a lock and lists) and the shared one (a transaction and rows) decide
alike by construction, not by keeping two copies in step:

- a request starts at once only if nobody is queued and the group has room;
- otherwise it queues, unless the owner already has ``per_owner_limit``
  requests in the group (OwnerLimitReached, checked first) or the queue is
  at ``max_queue`` (QueueFull);
- the queue is first come, first served: freed slots go to its head, and a
  paused group hands out none;
- a waiter's ETA starts from the group's typical run length and how long
  its oldest running run has already run; none while paused.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.limiter.config import GroupConfig
from core.limiter.errors import LimiterError, OwnerLimitReached, QueueFull
from core.limiter.eta import DurationEstimate
from core.limiter.records import WaitInfo


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


def oldest_running_s(started_at: Iterable[float | None], now: float) -> float:
    """How long the longest-running run has held its slot (wall-clock seconds); 0 if none."""
    started = [moment for moment in started_at if moment is not None]
    return max(0.0, now - min(started)) if started else 0.0


def wait_info(
    config: GroupConfig,
    *,
    position: int,
    queued: int,
    running: int,
    waited_s: float,
    estimate: DurationEstimate | None,
    oldest_running_s: float,
) -> WaitInfo:
    """What ``on_wait`` is told about a waiter at queue ``position`` (1-based)."""
    eta_s = None
    if estimate is not None and not config.paused:
        eta_s = estimate.eta(position, config.limit, oldest_running_s)
    return WaitInfo(
        group=config.name,
        position=position,
        queued=queued,
        running=running,
        limit=config.limit,
        paused=config.paused,
        waited_s=waited_s,
        eta_s=eta_s,
    )
