"""A group's settings, declared once, and checked once so the limiter can trust them.

``GroupSettings`` is the one declaration of what an admin can set on a
group: each field's type, default, bounds and wording (label, help, how the
audit log names it). Everything else derives from it: ``GroupConfig`` and
``GroupSnapshot`` extend it, the rules (core/groups/rules.py) parse every
declared field, the admin form (core/ui/admin/group_form.py) draws one
input per field, the audit log (core/groups/audit.py) names them, and the
shared limiter stores them. Adding a setting is a field here, a migration
(with its column in db/models.py) and the behaviour that uses it.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from typing import Any

MAX_LIMIT = 1024
"""The most runs at once a group (or one person in it) can be allowed."""

CREATED_ON_FIRST_USE = "Created on first use by a task."
"""The description of a group that code named before an admin created it (every backend)."""


@dataclass(frozen=True)
class Wording:
    """How people see one setting: in the admin form and in the audit log."""

    label: str
    """The form's label."""
    audit: str
    """The setting's name in an audit line ("queue cap 5 → 10")."""
    help: str = ""
    placeholder: str = ""
    """Shown in an empty box: what leaving it empty means."""
    none_means: str = "no cap"
    """The audit log's words for an empty (None) value."""
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    """Bounds, checked by the rules (core/groups/rules.py) for a setting without a parser
    of its own; the form starts an empty required field at ``minimum``."""


def _setting(default: Any = MISSING, **wording: Any) -> Any:
    return field(default=default, metadata={"wording": Wording(**wording)})


@dataclass(frozen=True, kw_only=True)
class GroupSettings:
    """Everything an admin can set on a group besides its name: the one declaration.

    A plain value: code can build one with anything in it, and the rules
    (``core.groups.check_settings``) check it before it is stored.
    """

    limit: int = _setting(
        label="Limit (runs at once)",
        audit="limit",
        help=f"A whole number from 1 to {MAX_LIMIT}.",
        minimum=1,
        maximum=MAX_LIMIT,
    )
    paused: bool = _setting(
        False, label="Paused (admit nothing new; running runs finish)", audit="paused"
    )
    max_queue: int | None = _setting(
        None,
        label="Queue cap (requests waiting)",
        audit="queue cap",
        help="Empty: no cap. 0: never queue, refuse when busy.",
        placeholder="no cap",
    )
    queue_timeout_s: float | None = _setting(
        None,
        label="Queue timeout (seconds)",
        audit="queue timeout",
        help="Empty: wait without a limit.",
        placeholder="wait without a limit",
        none_means="no timeout",
        unit="s",
    )
    per_owner_limit: int | None = _setting(
        None,
        label="Limit per person (queued or running)",
        audit="limit per person",
        help="Empty: no cap per person.",
        placeholder="no cap",
    )
    max_run_s: float | None = _setting(
        None,
        label="Run-time cap (seconds)",
        audit="run-time cap",
        help="Empty: no cap. A run still going after this long is stopped as Cancel stops it "
        "and recorded timed out.",
        placeholder="no cap",
        unit="s",
    )
    """The longest a run may run; enforced by its executor, counted from its body's start."""
    description: str = _setting("", label="Description", audit="description", help="Optional.")

    def as_dict(self) -> dict[str, Any]:
        """The settings alone (not a config's name or version)."""
        return settings_of(self)


@dataclass(frozen=True)
class Setting:
    """One declared setting, as the layers that derive from the declaration read it."""

    name: str
    kind: str
    """"int", "float", "bool" or "str"."""
    optional: bool
    """True if empty (None) is allowed: no cap, no timeout."""
    default: Any
    """MISSING if the setting must be given."""
    wording: Wording


def _declared() -> tuple[Setting, ...]:
    declared = []
    for spec in fields(GroupSettings):
        parts = [part.strip() for part in str(spec.type).split("|")]
        kind = next(part for part in parts if part != "None")
        declared.append(
            Setting(spec.name, kind, "None" in parts, spec.default, spec.metadata["wording"])
        )
    return tuple(declared)


SETTINGS = _declared()
"""Every setting, in declaration order."""

SETTING_FIELDS = tuple(setting.name for setting in SETTINGS)
"""The settings' names: the same attributes on a config, a stored row and a checked form."""


def settings_of(source: object) -> dict[str, Any]:
    """The settings of anything that has them as attributes (a config, a stored row)."""
    return {name: getattr(source, name) for name in SETTING_FIELDS}


def config_of(source: Any) -> GroupConfig:
    """The config of anything that has a group's name, version and settings as attributes
    (a ``concurrency_group`` row): the one mapping from storage to the limiter."""
    return GroupConfig(name=source.name, version=source.version, **settings_of(source))


@dataclass(frozen=True, kw_only=True)
class GroupConfig(GroupSettings):
    """A named group's settings, checked, as the limiter runs with them.

    Frozen so that a config handed to the limiter (or to an event sink) can
    never change under it; a new setting is a new object passed to
    ``configure``. ``version`` is carried, not interpreted: the database
    layer uses it to tell which edit a limiter is running with.
    """

    name: str
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
