"""The group editor: the list with one-click pause/resume, an edit form, a create form.

The edit form edits a *copy* of the group taken when the admin chose it (its
"base"): a rerun that reads a newer version from the database must not
quietly swap the values under the admin's cursor. Saving sends the base's
version; if someone saved in between, the service refuses and the admin is
offered a reload. Every outcome is a sentence on the page; changes take
effect before the page redraws, and a short confirmation survives the
redraw as a "flash" message.
"""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from core.auth import Actor, NotAuthorized
from core.groups import (
    ConfirmationNeeded,
    GroupError,
    GroupRecord,
    GroupService,
    InvalidGroup,
    StaleGroup,
    clean_form,
)
from core.limiter import GroupSnapshot
from core.tasks.assignment import AssignmentError, TasksNeedAGroup
from core.ui.admin.group_form import field_keys, group_fields, show_errors
from core.ui.group_cards import group_state_line
from core.ui.wording import plain

_FLASH = "admin:flash"
_CONFIRM_TEXT = "admin:confirm-text"
_BASE = "admin:edit-base"
_CONFIRM_DELETE = "admin:confirm-delete"
_STALE = "admin:stale"
_CHOICE = "admin:edit-choice"
_TASKS_NEED_GROUP = "admin:tasks-need-group"
_TASKS_TARGET = "admin:tasks-target"
_EDIT = "edit"
_CREATE = "create"


def _flash(message: str) -> None:
    st.session_state[_FLASH] = message
    st.rerun()


def _settings_line(record: GroupRecord) -> str:
    """E.g. "limit 2 · 1 per person · queue up to 5 · waits at most 30 s"."""
    s = record.settings
    parts = [f"limit {s.limit}"]
    if s.per_owner_limit is not None:
        parts.append(f"{s.per_owner_limit} per person")
    if s.max_queue == 0:
        parts.append("never queues")
    elif s.max_queue is not None:
        parts.append(f"queue up to {s.max_queue}")
    if s.queue_timeout_s is not None:
        parts.append(f"waits at most {s.queue_timeout_s:g} s")
    if s.max_run_s is not None:
        parts.append(f"runs at most {s.max_run_s:g} s")
    return " · ".join(parts)


def show_group_editor(
    service: GroupService, actor: Actor, snapshot: dict[str, GroupSnapshot]
) -> None:
    if message := st.session_state.pop(_FLASH, None):
        st.success(message, icon=":material/check_circle:")
    records = service.groups()
    # Side by side, so the forms stay in view however many groups there are.
    listing, forms = st.columns([5, 7], gap="large")
    with listing:
        st.subheader("Groups")
        _show_group_list(service, actor, records, snapshot)
    with forms:
        st.subheader("Edit a group")
        _show_edit(service, actor, records)
        st.subheader("Create a group")
        _show_create(service, actor)


def _show_group_list(
    service: GroupService,
    actor: Actor,
    records: list[GroupRecord],
    snapshot: dict[str, GroupSnapshot],
) -> None:
    live = {name.casefold(): group for name, group in snapshot.items()}
    for record in records:
        with st.container(border=True):
            info, action = st.columns([3, 1.3], vertical_alignment="center")
            paused = " · ⏸️ paused" if record.settings.paused else ""
            group = live.get(record.name.casefold())
            state = group_state_line(group) if group else "not loaded yet"
            info.markdown(f"**Group {plain(record.name)}**{paused}  \n{state}")
            info.caption(_settings_line(record))
            if record.settings.description:
                info.caption(plain(record.settings.description))
            label = "Resume" if record.settings.paused else "Pause"
            if action.button(label, key=f"admin:toggle:{record.id}", width="stretch"):
                _toggle_pause(service, actor, record)


def _toggle_pause(service: GroupService, actor: Actor, record: GroupRecord) -> None:
    try:
        if record.settings.paused:
            service.resume(actor, record.name)
            _flash(f"Group {plain(record.name)} is running again.")
        else:
            service.pause(actor, record.name)
            _flash(f"Group {plain(record.name)} is paused: it admits nothing new until resumed.")
    except (GroupError, NotAuthorized) as error:
        st.error(plain(str(error)))


def _set_base(record: GroupRecord | None) -> None:
    """Start editing ``record`` afresh: forget the form's typed values."""
    st.session_state[_BASE] = record
    st.session_state.pop(_CONFIRM_DELETE, None)
    st.session_state.pop(_STALE, None)
    for key in field_keys(_EDIT):
        st.session_state.pop(key, None)


def _show_edit(service: GroupService, actor: Actor, records: list[GroupRecord]) -> None:
    names = [record.name for record in records]
    base: GroupRecord | None = st.session_state.get(_BASE)
    chosen = st.selectbox(
        "Group to edit",
        names,
        index=names.index(base.name) if base is not None and base.name in names else None,
        placeholder="Choose a group",
        key=_CHOICE,
    )
    if chosen is None:
        return
    if base is None or base.name != chosen:
        base = next(record for record in records if record.name == chosen)
        _set_base(base)
    current = next((record for record in records if record.id == base.id), None)
    if current is not None and current.version != base.version:
        # Changed since the form was filled in: say so now rather than only on saving.
        stale = StaleGroup(current.name, current.updated_by, current.updated_at)
        st.session_state[_STALE] = str(stale)
    with st.form("admin:edit-form"):
        values, slots = group_fields(_EDIT, base)
        saved = st.form_submit_button("Save changes", type="primary")
    if saved:
        _save(service, actor, base, values, slots)
    if stale_sentence := st.session_state.get(_STALE):
        st.error(plain(stale_sentence))
        if st.button("Reload the group", key="admin:reload", type="primary"):
            _reload(service, base)
    _show_delete(service, actor, base, [record.name for record in records])


def _save(
    service: GroupService,
    actor: Actor,
    base: GroupRecord,
    values: dict[str, object],
    slots: dict[str, DeltaGenerator],
) -> None:
    try:
        name, settings = clean_form(values)
        record = service.update(
            actor, base.name, settings, base.version, new_name=name if name != base.name else None
        )
    except InvalidGroup as invalid:
        show_errors(slots, invalid.errors)
        return
    except StaleGroup as stale:
        st.session_state[_STALE] = str(stale)
        return
    except (GroupError, NotAuthorized) as error:
        st.error(plain(str(error)))
        return
    if record.version == base.version:
        st.info("Nothing changed, so nothing was saved.")
        return
    _set_base(record)
    st.session_state.pop(_CHOICE, None)  # the selection follows the base, even after a rename
    _flash(f"Saved group {plain(record.name)}; it applies now.")


def _reload(service: GroupService, base: GroupRecord) -> None:
    try:
        _set_base(service.get(base.name))
    except GroupError as error:
        _set_base(None)
        st.error(plain(str(error)))
        return
    st.rerun()


def _show_delete(service: GroupService, actor: Actor, base: GroupRecord, names: list[str]) -> None:
    asked = st.session_state.get(_TASKS_NEED_GROUP)
    if asked is not None and asked[:2] == (base.id, base.version):
        _show_task_target(service, actor, base, names, sentence=asked[2], confirm=asked[3])
        return
    confirming = st.session_state.get(_CONFIRM_DELETE) == (base.id, base.version)
    if not confirming:
        if st.button(f"Delete group {plain(base.name)}", key="admin:delete"):
            _delete(service, actor, base, confirm=False)
        return
    st.warning(plain(st.session_state.get(_CONFIRM_TEXT, "")), icon="⚠️")
    yes, no, _ = st.columns([1, 1, 3])
    if yes.button("Delete anyway", key="admin:delete-confirm", type="primary"):
        _delete(service, actor, base, confirm=True)
    if no.button("Keep it", key="admin:delete-cancel"):
        st.session_state.pop(_CONFIRM_DELETE, None)
        st.rerun()


def _show_task_target(
    service: GroupService,
    actor: Actor,
    base: GroupRecord,
    names: list[str],
    *,
    sentence: str,
    confirm: bool,
) -> None:
    """A group with tasks is deleted only once the admin says which group takes them."""
    st.warning(sentence, icon="⚠️")
    others = [name for name in names if name != base.name]
    if not others:
        st.info("Create another group first: its tasks need a group to move to.")
    target = st.selectbox(
        "Move its tasks to", others, index=None, placeholder="Choose a group", key=_TASKS_TARGET
    )
    move, keep, _ = st.columns([2, 1, 2])
    if move.button(
        "Move them and delete", key="admin:delete-move", type="primary", disabled=target is None
    ):
        _delete(service, actor, base, confirm=confirm, move_tasks_to=target)
    if keep.button("Keep it", key="admin:delete-keep"):
        st.session_state.pop(_TASKS_NEED_GROUP, None)
        st.rerun()


def _delete(
    service: GroupService,
    actor: Actor,
    base: GroupRecord,
    *,
    confirm: bool,
    move_tasks_to: str | None = None,
) -> None:
    try:
        service.delete(actor, base.name, base.version, confirm=confirm, move_tasks_to=move_tasks_to)
    except ConfirmationNeeded as needed:
        st.session_state[_CONFIRM_DELETE] = (base.id, base.version)
        st.session_state[_CONFIRM_TEXT] = str(needed)
        st.rerun()
    except TasksNeedAGroup as needed:
        st.session_state[_TASKS_NEED_GROUP] = (base.id, base.version, str(needed), confirm)
        st.rerun()
    except (GroupError, AssignmentError, NotAuthorized) as error:
        st.error(plain(str(error)))
        return
    st.session_state.pop(_TASKS_NEED_GROUP, None)
    _set_base(None)
    st.session_state.pop(_CHOICE, None)
    moved = f" Its tasks now run in group {plain(move_tasks_to)}." if move_tasks_to else ""
    _flash(f"Deleted group {plain(base.name)}.{moved}")


def _show_create(service: GroupService, actor: Actor) -> None:
    with st.form("admin:create-form", clear_on_submit=False):
        values, slots = group_fields(_CREATE, None)
        created = st.form_submit_button("Create group")
    if not created:
        return
    try:
        name, settings = clean_form(values)
        record = service.create(actor, name, settings)
    except InvalidGroup as invalid:
        show_errors(slots, invalid.errors)
        return
    except (GroupError, NotAuthorized) as error:
        st.error(plain(str(error)))
        return
    for key in field_keys(_CREATE):
        st.session_state.pop(key, None)
    _flash(f"Created group {plain(record.name)}; it applies now.")
