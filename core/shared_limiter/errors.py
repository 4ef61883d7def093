"""The one refusal only a shared limiter can give."""

from __future__ import annotations

from core.limiter import LimiterError


class LeaseLost(LimiterError):
    """The request's ticket was reclaimed: this process stopped renewing it for a whole lease.

    It happens only when a process stalls for longer than
    ``TASKGATE_LEASE_TTL_S`` (or loses the database that long); the fleet has
    already given the place to others, so the request ends.
    """

    def __init__(self, group: str) -> None:
        super().__init__(
            group,
            f"Your place in group {group}'s queue was given up because this server stopped "
            "answering for too long; try again.",
        )
