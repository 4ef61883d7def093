"""Concurrency groups as admins see them: the rules a group must follow, and the
service that changes groups (checked, versioned, audited, applied at once)."""

from core.groups.audit import AuditEntry, describe_change
from core.groups.errors import (
    ConfirmationNeeded,
    GroupBusy,
    GroupError,
    GroupNotFound,
    InvalidGroup,
    RefusedByDatabase,
    StaleGroup,
)
from core.groups.rules import (
    GroupSettings,
    check_settings,
    clean_form,
    clean_name,
    clean_settings,
    group_sort_key,
)
from core.groups.service import GroupRecord, GroupService

__all__ = [
    "AuditEntry",
    "ConfirmationNeeded",
    "GroupBusy",
    "GroupError",
    "GroupNotFound",
    "GroupRecord",
    "GroupService",
    "GroupSettings",
    "InvalidGroup",
    "RefusedByDatabase",
    "StaleGroup",
    "check_settings",
    "clean_form",
    "clean_name",
    "clean_settings",
    "describe_change",
    "group_sort_key",
]
