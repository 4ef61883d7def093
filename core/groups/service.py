"""Creating, editing and deleting groups: checked, versioned, audited, applied at once.

Every change goes through the same steps: refuse a non-admin actor; check
the input; in ONE transaction, make the change and write its audit event;
then wake the admitters, which read a group's settings at every decision, so
the change applies at once (raising a limit admits waiters at once). Other
processes hear of it through the database (a trigger's NOTIFY on PostgreSQL,
SQLite's data_version), or within half a second.

Edits are optimistic: the admin's form remembers the version it showed, and
the UPDATE only matches that version. If another admin saved in between,
nothing is written and the admin is told who changed it and when. The
conditional UPDATE, not a read before it, is what makes this safe when two
saves race.

The settings are checked here again (``check_settings``), not only by the
form, and every constraint the database enforces is turned into a sentence
(``_refusal``): the database has the last word on a duplicate name when two
saves race, and its answer must reach the admin as words, not SQL.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.auth import Actor, require_admin
from core.groups.audit import AuditEntry, group_state, read_audit_log
from core.groups.errors import (
    ConfirmationNeeded,
    GroupBusy,
    GroupError,
    GroupNotFound,
    InvalidGroup,
    RefusedByDatabase,
    StaleGroup,
)
from core.groups.rules import GroupSettings, check_settings, clean_name, group_sort_key
from core.limiter import GroupSnapshot
from core.limiter.config import settings_of
from core.tasks.assignment import move_tasks_off
from db.engine import rows_matched, session_scope
from db.models import AuditEvent, ConcurrencyGroup, group_name_key, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GroupRecord:
    """A group as stored: its name, settings, and who last changed it in which version."""

    id: int
    name: str
    settings: GroupSettings
    version: int
    updated_at: datetime
    updated_by: str


def _record(row: ConcurrencyGroup) -> GroupRecord:
    assert row.id is not None
    return GroupRecord(
        id=row.id,
        name=row.name,
        settings=GroupSettings(**settings_of(row)),
        version=row.version,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


_CHECKS = {
    "ck_group_limit": ("limit", "The limit must be at least 1."),
    "ck_group_max_queue": ("max_queue", "The queue cap cannot be negative."),
    "ck_group_queue_timeout": ("queue_timeout_s", "The queue timeout must be more than 0 seconds."),
    "ck_group_per_owner_limit": ("per_owner_limit", "The limit per person must be at least 1."),
    "ck_group_name_length": ("name", "A group name must have from 1 to 64 characters."),
}
"""Each CHECK on concurrency_group, and the field and sentence it stands for."""


def _duplicate(taken: str) -> InvalidGroup:
    return InvalidGroup(
        {
            "name": f"There is already a group named {taken} "
            "(names count as the same whatever their case)."
        }
    )


class _LostRace(Exception):
    """The conditional write matched no row: someone changed or deleted the group first."""


class GroupService:
    """The only way the app changes groups; each method checks ``actor`` itself."""

    def __init__(
        self,
        engine: Engine,
        snapshot: Callable[[], dict[str, GroupSnapshot]],
        changed: Callable[[], None],
    ) -> None:
        self._engine = engine
        self._snapshot = snapshot
        self._changed = changed

    # reading -------------------------------------------------------------------
    def groups(self) -> list[GroupRecord]:
        """Every group, in name order (``group_sort_key``)."""
        with Session(self._engine) as session:
            rows = session.exec(select(ConcurrencyGroup)).all()
        return sorted((_record(row) for row in rows), key=lambda r: group_sort_key(r.name))

    def get(self, name: str) -> GroupRecord:
        with Session(self._engine) as session:
            return _record(self._row(session, name))

    def audit_log(self, actor: Actor, limit: int = 100) -> list[AuditEntry]:
        require_admin(actor)
        return read_audit_log(self._engine, limit)

    # changing ------------------------------------------------------------------
    def create(self, actor: Actor, name: str, settings: GroupSettings) -> GroupRecord:
        require_admin(actor)
        name = clean_name(name)
        settings = check_settings(settings)
        try:
            with session_scope(self._engine) as session:
                self._check_unique(session, name)
                now = utcnow()
                row = ConcurrencyGroup(
                    name=name,
                    name_key=group_name_key(name),
                    **settings.as_dict(),
                    created_at=now,
                    updated_at=now,
                    updated_by=actor.name,
                )
                session.add(row)
                session.flush()
                self._audit(session, actor, "create", name, None, group_state(row))
                record = _record(row)
        except IntegrityError as error:
            raise self._refusal(error, name) from None
        self._apply()
        return record

    def update(
        self,
        actor: Actor,
        name: str,
        settings: GroupSettings,
        expected_version: int,
        new_name: str | None = None,
    ) -> GroupRecord:
        """Save new settings (and optionally a new name) if the group is still at that version.

        A rename is refused while the group has runs: they carry the old
        name's key, and would be left without a group.
        """
        require_admin(actor)
        target = clean_name(new_name) if new_name is not None else None
        settings = check_settings(settings)
        try:
            with session_scope(self._engine) as session:
                row = self._row(session, name)
                if row.version != expected_version:
                    raise self._stale(row)
                renaming = target is not None and target != row.name
                if renaming:
                    assert target is not None
                    self._check_unique(session, target, except_id=row.id)
                    self._check_idle_for_rename(row.name)
                before = group_state(row)
                values = {**settings.as_dict(), "name": target if renaming else row.name}
                if all(before[key] == value for key, value in values.items()):
                    return _record(row)
                values["name_key"] = group_name_key(values["name"])
                after = self._write(session, row, expected_version, actor, values)
                action = "rename" if renaming else "update"
                self._audit(session, actor, action, row.name, before, after)
                record = _record(row)
        except _LostRace:
            raise self._stale_now(name) from None
        except IntegrityError as error:
            raise self._refusal(error, target or name) from None
        self._apply()
        return record

    def rename(self, actor: Actor, name: str, new_name: str, expected_version: int) -> GroupRecord:
        """Give a group a new name, keeping its settings."""
        return self.update(actor, name, self.get(name).settings, expected_version, new_name)

    def pause(self, actor: Actor, name: str) -> GroupRecord:
        """Admit nothing new until resumed; running runs carry on, the queue waits."""
        return self._set_paused(actor, name, True)

    def resume(self, actor: Actor, name: str) -> GroupRecord:
        return self._set_paused(actor, name, False)

    def delete(
        self,
        actor: Actor,
        name: str,
        expected_version: int,
        *,
        confirm: bool = False,
        move_tasks_to: str | None = None,
    ) -> None:
        """Remove a group; a busy one only with ``confirm``, one with tasks only with a
        ``move_tasks_to`` group for them (moved and audited in the same transaction).

        Queued requests are then turned away with GroupRemoved; running ones finish.
        """
        require_admin(actor)
        running, queued = self._activity(name)
        if (running or queued) and not confirm:
            raise ConfirmationNeeded(name, running, queued)
        try:
            with session_scope(self._engine) as session:
                row = self._row(session, name)
                if row.version != expected_version:
                    raise self._stale(row)
                before = group_state(row)
                move_tasks_off(session, actor, row, move_tasks_to)
                deleted = session.execute(
                    delete(ConcurrencyGroup).where(
                        col(ConcurrencyGroup.id) == row.id,
                        col(ConcurrencyGroup.version) == expected_version,
                    )
                )
                if rows_matched(deleted) != 1:
                    raise _LostRace
                self._audit(session, actor, "delete", row.name, before, None)
        except _LostRace:
            raise self._stale_now(name) from None
        self._apply()

    # internals -----------------------------------------------------------------
    def _set_paused(self, actor: Actor, name: str, paused: bool) -> GroupRecord:
        require_admin(actor)
        with session_scope(self._engine) as session:
            row = self._row(session, name)
            if row.paused == paused:
                return _record(row)
            before = group_state(row)
            # No version check: "pause" means the same whatever else changed,
            # and the version still moves on so open edit forms notice.
            session.execute(
                update(ConcurrencyGroup)
                .where(col(ConcurrencyGroup.id) == row.id)
                .values(
                    paused=paused,
                    version=ConcurrencyGroup.version + 1,
                    updated_at=utcnow(),
                    updated_by=actor.name,
                )
            )
            session.refresh(row)
            self._audit(
                session, actor, "pause" if paused else "resume", row.name, before, group_state(row)
            )
            record = _record(row)
        self._apply()
        return record

    def _write(
        self,
        session: Session,
        row: ConcurrencyGroup,
        expected_version: int,
        actor: Actor,
        values: dict,
    ) -> dict:
        result = session.execute(
            update(ConcurrencyGroup)
            .where(
                col(ConcurrencyGroup.id) == row.id,
                col(ConcurrencyGroup.version) == expected_version,
            )
            .values(
                **values,
                version=expected_version + 1,
                updated_at=utcnow(),
                updated_by=actor.name,
            )
        )
        if rows_matched(result) != 1:
            raise _LostRace
        session.refresh(row)
        return group_state(row)

    @staticmethod
    def _audit(
        session: Session,
        actor: Actor,
        action: str,
        group: str,
        before: dict | None,
        after: dict | None,
    ) -> None:
        session.add(
            AuditEvent(
                actor=actor.name, action=action, group_name=group, before=before, after=after
            )
        )

    @staticmethod
    def _row(session: Session, name: str) -> ConcurrencyGroup:
        key = group_name_key(name.strip())
        row = session.exec(select(ConcurrencyGroup).where(ConcurrencyGroup.name_key == key)).first()
        if row is not None:
            return row
        # A row inserted by hand got SQL's lower() as its key (migration 0004_name_key),
        # which differs from casefold() for some non-ASCII names: compare the names too.
        for row in session.exec(select(ConcurrencyGroup)).all():
            if group_name_key(row.name) == key:
                return row
        raise GroupNotFound(name)

    @staticmethod
    def _check_unique(session: Session, name: str, except_id: int | None = None) -> None:
        """Refuse a name taken in any case; the unique index still decides a race."""
        key = group_name_key(name)
        row = session.exec(select(ConcurrencyGroup).where(ConcurrencyGroup.name_key == key)).first()
        if row is not None and row.id != except_id:
            raise _duplicate(row.name)

    def _refusal(self, error: IntegrityError, name: str) -> GroupError:
        """The sentence for a constraint the database enforced (nothing was written).

        The name's unique index is the one a racing save can hit; the CHECKs
        repeat rules that ``check_settings`` applied already, so reaching one
        means a rule and a constraint disagree, which is logged.
        """
        text = str(error.orig)
        if "name_key" in text:
            with Session(self._engine) as session:
                taken = session.exec(
                    select(ConcurrencyGroup.name).where(
                        ConcurrencyGroup.name_key == group_name_key(name)
                    )
                ).first()
            return _duplicate(taken or name)
        log.error("the database refused a change to group %s: %s", name, text)
        for constraint, (field, sentence) in _CHECKS.items():
            if constraint in text:
                return InvalidGroup({field: sentence})
        return RefusedByDatabase(name)

    def _activity(self, name: str) -> tuple[int, int]:
        """How many runs of the group are running and queued right now."""
        for group in self._snapshot().values():
            if group.name.casefold() == name.strip().casefold():
                return group.running, group.queued
        return 0, 0

    def _check_idle_for_rename(self, name: str) -> None:
        running, queued = self._activity(name)
        if running or queued:
            raise GroupBusy(name, running, queued)

    @staticmethod
    def _stale(row: ConcurrencyGroup) -> StaleGroup:
        return StaleGroup(row.name, row.updated_by, row.updated_at)

    def _stale_now(self, name: str) -> StaleGroup | GroupNotFound:
        with Session(self._engine) as session:
            try:
                return self._stale(self._row(session, name))
            except GroupNotFound as gone:
                return gone

    def _apply(self) -> None:
        """Tell the admitters now: the change is committed and applies at their next look."""
        self._changed()
