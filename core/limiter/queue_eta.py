"""A waiter's honest ETA: simulate the group's slots freeing, run by run.

A per-group average treats every run alike, so a classifier of 1 min 44 s
ahead of a waiter would read "about 3 s" when matmuls ran before it, and
"any moment now" once the average has passed. Here each run ahead counts
for what it is:

- a **running** run leaves after its remaining time: from its progress
  (elapsed × (1 − f) / f once it has reported enough), else from its task's
  typical duration for similar settings minus what it already ran;
- a **queued** run ahead takes a slot for its task's typical duration.

The waiter's estimate is when a slot is free for it after every run ahead
has had one: ``slots`` free times, each queued run taking the earliest.
Nothing is guessed: if any run ahead has no typical duration and no usable
progress, the answer is None ("no estimate yet").

A run past its expected end is **re-estimated**, not left at zero: its
remaining time becomes a share of what it has run so far (it is late, so
it is probably long), so an estimate never sits at "any moment now".

Pure: no clock, no database; callers pass seconds. The typical durations
come from finished runs (core/run_durations.py).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

MIN_PROGRESS = 0.05
"""Below this fraction a run's own pace says little (set-up, data loading); its task's
typical duration is used instead."""

LATE_SHARE = 0.25
"""A late run is expected to need this share of its elapsed time again (at least LATE_FLOOR_S)."""

LATE_FLOOR_S = 2.0


@dataclass(frozen=True)
class RunningRun:
    elapsed_s: float
    typical_s: float | None = None
    fraction: float | None = None
    """Progress 0..1 as the task reported it; None if it reports none."""


def remaining_s(run: RunningRun) -> float | None:
    """Seconds until ``run`` leaves its slot; None when nothing is known about it."""
    elapsed = max(run.elapsed_s, 0.0)
    if run.fraction is not None and run.fraction >= MIN_PROGRESS:
        if run.fraction >= 1.0:
            return 0.0
        expected = elapsed * (1.0 - run.fraction) / run.fraction
    elif run.typical_s is not None:
        expected = run.typical_s - elapsed
    else:
        return None
    if expected > 0:
        return expected
    return max(LATE_SHARE * elapsed, LATE_FLOOR_S)


def estimate_waits(
    running: Sequence[RunningRun], queued: Sequence[float | None], slots: int
) -> list[float | None]:
    """Seconds until each of ``queued`` (typical durations, head first) gets a slot.

    One pass over the line: the n-th waiter's estimate is when a slot is
    free after the n - 1 ahead of it each had one, so a whole queue costs
    what its last waiter's estimate costs. ``slots`` is the group's limit;
    fewer runs running than slots means free slots now. From the first
    queued run without a typical duration on, nothing is known (None).
    """
    if slots < 1:
        raise ValueError(f"A group has at least one slot (got {slots}).")
    free_at: list[float] = []
    for run in running:
        left = remaining_s(run)
        if left is None:
            return [None] * len(queued)
        free_at.append(left)
    free_at.sort()
    # With more running than slots (the limit was lowered), a slot frees only when the
    # count drops below the limit: the first len - slots endings free nothing.
    free_at = free_at[len(free_at) - slots :] if len(free_at) >= slots else free_at
    free_at += [0.0] * (slots - len(free_at))
    heapq.heapify(free_at)
    waits: list[float | None] = []
    for typical in queued:
        start = heapq.heappop(free_at)
        waits.append(start)
        if typical is None:
            return waits + [None] * (len(queued) - len(waits))
        heapq.heappush(free_at, start + typical)
    return waits


def estimate_wait(
    running: Sequence[RunningRun], queued_ahead: Sequence[float | None], slots: int
) -> float | None:
    """Seconds until a waiter behind ``queued_ahead`` (their typical durations) gets a slot."""
    return estimate_waits(running, [*queued_ahead, None], slots)[-1]
