"""A group's settings, checked once so the limiter can trust them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SETTING_FIELDS = (
    "limit",
    "paused",
    "max_queue",
    "queue_timeout_s",
    "per_owner_limit",
    "max_run_s",
    "description",
)
"""What an admin sets on a group besides its name: the same fields on a config, a
stored row and a validated form, so every layer copies them through this one list."""


CREATED_ON_FIRST_USE = "Created on first use by a task."
"""The description of a group that code named before an admin created it (every backend)."""


def settings_of(source: object) -> dict[str, Any]:
    """The settings of anything that has them as attributes (a config, a stored row)."""
    return {field: getattr(source, field) for field in SETTING_FIELDS}


def config_of(source: Any) -> GroupConfig:
    """The config of anything that has a group's name, version and settings as attributes
    (a ``concurrency_group`` row): the one mapping from storage to the limiter."""
    return GroupConfig(name=source.name, version=source.version, **settings_of(source))


@dataclass(frozen=True)
class GroupConfig:
    """Everything an admin can set on a concurrency group.

    Frozen so that a config handed to the limiter (or to an event sink) can
    never change under it; a new setting is a new object passed to
    ``Limiter.configure``. ``version`` is carried, not interpreted: the
    database layer uses it to tell which edit a limiter is running with.
    """

    name: str
    limit: int
    paused: bool = False
    max_queue: int | None = None
    queue_timeout_s: float | None = None
    per_owner_limit: int | None = None
    max_run_s: float | None = None
    """The longest a run may hold its slot; enforced by the dispatcher, not the limiter."""
    description: str = ""
    version: int = 0

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("A group needs a name.")
        if self.limit < 1:
            raise ValueError(f"Group {self.name}'s limit must be at least 1 (got {self.limit}).")
        if self.max_queue is not None and self.max_queue < 0:
            raise ValueError(
                f"Group {self.name}'s queue length cannot be negative (got {self.max_queue})."
            )
        if self.queue_timeout_s is not None and self.queue_timeout_s <= 0:
            raise ValueError(
                f"Group {self.name}'s queue timeout must be more than 0 seconds "
                f"(got {self.queue_timeout_s:g})."
            )
        if self.per_owner_limit is not None and self.per_owner_limit < 1:
            raise ValueError(
                f"Group {self.name}'s limit per person must be at least 1 "
                f"(got {self.per_owner_limit})."
            )

        if self.max_run_s is not None and self.max_run_s <= 0:
            raise ValueError(
                f"Group {self.name}'s run-time cap must be more than 0 seconds "
                f"(got {self.max_run_s:g})."
            )

    @property
    def key(self) -> str:
        """The identity of the group: names are unique ignoring case."""
        return self.name.casefold()
