"""Why a request did not get (or keep) a slot, in sentences a user can read.

Refusals are ``Exception``s so ordinary error handling can show them.
``RunCancelled`` is a ``BaseException`` on purpose: like Streamlit's own
stop and rerun exceptions it must get past ``except Exception`` in task code
and reach the limiter, which releases the slot and records the run as
cancelled.
"""

from __future__ import annotations


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


class LimiterError(Exception):
    """A request was refused; ``str(error)`` is meant for the person who made it."""

    def __init__(self, group: str, message: str) -> None:
        super().__init__(message)
        self.group = group


class QueueFull(LimiterError):
    """The request would have had to wait, but the group's queue was at its cap."""

    def __init__(self, group: str, max_queue: int) -> None:
        if max_queue == 0:
            message = f"Group {group} is busy and does not queue requests; try again shortly."
        else:
            message = f"Group {group}'s queue is full ({max_queue} waiting); try again shortly."
        super().__init__(group, message)
        self.max_queue = max_queue


class QueueTimeout(LimiterError):
    """The request waited for the group's whole queue timeout and was withdrawn."""

    def __init__(self, group: str, timeout_s: float) -> None:
        super().__init__(
            group,
            f"Waited {timeout_s:g} s for group {group} without getting a slot; "
            "the request was withdrawn.",
        )
        self.timeout_s = timeout_s


class OwnerLimitReached(LimiterError):
    """The owner already had as many runs queued or running as the group allows one person."""

    def __init__(self, group: str, limit: int) -> None:
        super().__init__(
            group,
            f"You already have {_plural(limit, 'run')} queued or running in group {group} "
            "(the cap per person).",
        )
        self.limit = limit


class GroupRemoved(LimiterError):
    """The group was deleted while the request was still waiting for it."""

    def __init__(self, group: str) -> None:
        super().__init__(group, f"Group {group} was removed while you were waiting.")


class UnknownGroup(LimiterError):
    """A run was asked for in a group that does not exist (never created, or removed)."""

    def __init__(self, group: str) -> None:
        super().__init__(
            group, f"Group {group} does not exist (an admin may have removed it), so nothing runs."
        )


class RunCancelled(BaseException):
    """Raised by a UI (from ``on_wait`` or a progress callback) to abandon a run."""

    def __init__(self, message: str = "The run was cancelled.") -> None:
        super().__init__(message)
