"""Why a change to a group was not made, each as a sentence an admin can act on."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime


class GroupError(Exception):
    """A change to a group was refused and nothing was written; ``str()`` says why."""


class InvalidGroup(GroupError):
    """Some fields of a group form are wrong: one sentence per field, to show next to it."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__(" ".join(errors.values()))
        self.errors = dict(errors)


class RefusedByDatabase(GroupError):
    """The database refused the change for a reason the rules did not foresee."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"The database refused the change to group {name}, so nothing was saved; "
            "the server log says which rule it broke."
        )


class GroupNotFound(GroupError):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"There is no group named {name} any more; it may have been renamed or deleted. "
            "Reload to see the current groups."
        )
        self.name = name


class StaleGroup(GroupError):
    """Someone saved the group after this edit began: saving would overwrite their change."""

    def __init__(self, name: str, changed_by: str, changed_at: datetime) -> None:
        super().__init__(
            f"Group {name} was changed by {changed_by} at "
            f"{changed_at:%H:%M:%S} UTC; reload to see it."
        )
        self.changed_by = changed_by
        self.changed_at = changed_at


def _runs(count: int, state: str) -> str:
    return f"{count} {state} run" + ("" if count == 1 else "s")


def describe_activity(running: int, queued: int) -> str:
    """E.g. "1 running run and 2 queued runs"."""
    parts = [_runs(n, state) for n, state in ((running, "running"), (queued, "queued")) if n]
    return " and ".join(parts)


class GroupBusy(GroupError):
    """A rename was refused because runs are using the group's current name."""

    def __init__(self, name: str, running: int, queued: int) -> None:
        super().__init__(
            f"Group {name} has {describe_activity(running, queued)}; rename it once it is idle "
            "(pause it and let it drain first)."
        )


class ConfirmationNeeded(GroupError):
    """Deleting a busy group needs the admin to confirm; ``str()`` says what will happen."""

    def __init__(self, name: str, running: int, queued: int) -> None:
        consequences = []
        if queued:
            consequences.append("the queued requests are turned away with a message")
        if running:
            consequences.append("the running ones finish")
        super().__init__(
            f"Group {name} has {describe_activity(running, queued)}. "
            f"If you delete it, {' and '.join(consequences)}."
        )
        self.running = running
        self.queued = queued
