"""How long a waiter can expect to wait, from how long recent runs took."""

from __future__ import annotations

import math

SMOOTHING = 0.3
"""Weight of the newest duration: recent runs matter most, one outlier does not dominate."""


class DurationEstimate:
    """An exponentially weighted mean of a group's run durations.

    It measures how long a run holds its slot, whatever its outcome: a
    cancelled run frees its slot early, and that is what a waiter feels.
    """

    def __init__(self) -> None:
        self.mean_s: float | None = None

    def seed(self, seconds: float) -> None:
        """Start from a known duration (e.g. history from the database)."""
        if seconds < 0:
            raise ValueError(f"A run duration cannot be negative (got {seconds:g} s).")
        self.mean_s = seconds

    def observe(self, seconds: float) -> None:
        if self.mean_s is None:
            self.mean_s = seconds
        else:
            self.mean_s = SMOOTHING * seconds + (1 - SMOOTHING) * self.mean_s

    def eta(self, position: int, limit: int, oldest_running_s: float) -> float | None:
        """Seconds until queue position ``position`` (1-based) can expect a slot.

        Slots free in rounds of ``limit`` runs of mean length; the first
        round is already ``oldest_running_s`` under way. None while no
        duration is known.
        """
        if self.mean_s is None:
            return None
        rounds = math.ceil(position / limit)
        return max(0.0, rounds * self.mean_s - oldest_running_s)
