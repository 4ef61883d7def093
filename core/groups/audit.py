"""The audit trail of group changes: what is recorded, and how it reads back.

Each change writes one ``audit_event`` row, in the same transaction as the
change itself, holding the group's whole state before and after; so the log
can never claim a change that was rolled back, nor miss one that was made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from core.limiter.config import SETTINGS, settings_of
from db.models import AuditEvent, ConcurrencyGroup

_LABELS = {"name": "name", **{setting.name: setting.wording.audit for setting in SETTINGS}}
_WORDING = {setting.name: setting.wording for setting in SETTINGS}
_KINDS = {setting.name: setting.kind for setting in SETTINGS}


def group_state(row: ConcurrencyGroup) -> dict[str, Any]:
    """The part of a group row an admin can change, plus its version, as JSON-ready data."""
    return {"name": row.name, **settings_of(row), "version": row.version}


def _show(field: str, value: Any) -> str:
    """A value in an audit line, worded as its setting's declaration says."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    wording = _WORDING.get(field)
    if wording is None:  # the name
        return str(value)
    if value is None:
        return wording.none_means
    if wording.unit:
        return f"{value:g} {wording.unit}"
    if _KINDS[field] == "str":
        return f"“{value}”" if value else "empty"
    return str(value)


def describe_change(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """One line saying what changed, e.g. "limit 1 → 3; paused no → yes"."""
    if before is not None and after is not None and "group" in after and "task" in after:
        return f"task {after['task']}: group {before['group']} → {after['group']}"
    if before is None and after is not None:
        settings = [
            f"{label} {_show(field, after.get(field))}"
            for field, label in _LABELS.items()
            if _KINDS.get(field) in ("int", "float") and after.get(field) is not None
        ]
        return "created with " + ", ".join(settings) + (", paused" if after.get("paused") else "")
    if after is None:
        return "deleted"
    if "run" in after:  # an admin's action on a run (core/runs/admin.py)
        return (
            f"run {after['run'][:8]} ({after.get('task', '')}) of {after.get('owner', '')}: "
            f"{(before or {}).get('status', '')} → {after.get('status', '')}"
        )
    before = before or {}
    changes = [
        f"{label} {_show(field, before.get(field))} → {_show(field, after.get(field))}"
        for field, label in _LABELS.items()
        if before.get(field) != after.get(field)
    ]
    return "; ".join(changes) or "no change"


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    group: str
    change: str


def read_audit_log(engine: Engine, limit: int = 100) -> list[AuditEntry]:
    """The newest ``limit`` audit events, newest first."""
    with Session(engine) as session:
        rows = session.exec(
            select(AuditEvent)
            .order_by(col(AuditEvent.ts).desc(), col(AuditEvent.id).desc())
            .limit(limit)
        ).all()
    return [
        AuditEntry(
            at=row.ts,
            actor=row.actor,
            action=row.action,
            group=row.group_name,
            change=describe_change(row.before, row.after),
        )
        for row in rows
    ]
