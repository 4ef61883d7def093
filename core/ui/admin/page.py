"""The Admin page: a sign-in gate, then the live view, groups, tasks, history and audit.

Who gets in: a signed-in person listed in ``TASKGATE_ADMINS`` at once, named
in the audit log; a signed-in person who is not listed never (not even with
the password); a guest with the admin password (installs without sign-in).

Only the chosen section runs on a rerun, so the history queries do not slow
down an edit and the live view's one-second fragment exists only while it
is on screen.
"""

from __future__ import annotations

import streamlit as st

from core.app import App
from core.auth import Actor, admin_actor
from core.ui.admin.audit import show_audit_log
from core.ui.admin.editor import show_group_editor
from core.ui.admin.history import show_history
from core.ui.admin.live import show_live
from core.ui.admin.sign_in import show_sign_in, show_signed_in_bar, signed_in_actor
from core.ui.admin.tasks import show_task_assignments
from core.ui.owner import access_of, signed_in_person
from core.ui.requester import requester
from core.ui.run_toasts import show_run_toasts
from core.ui.wording import plain

SECTIONS = ("Live", "Groups", "Tasks", "History", "Audit log")


def page_actor(app: App) -> Actor | None:
    """The admin using this session, or None (then the page says why and shows no more)."""
    person = signed_in_person()
    if person is None:
        actor = signed_in_actor()
        if actor is None:
            show_sign_in(app.admin)
            return None
        show_signed_in_bar(actor)
        return actor
    actor = admin_actor(person, access_of(app.settings))
    if actor is None:
        st.error(
            f"You are signed in as {plain(person.name)}, who is not an admin here. "
            "Ask an admin to add you to TASKGATE_ADMINS."
        )
        return None
    st.caption(f"Signed in as **{plain(person.name)}**, an admin; changes are logged in your name.")
    return actor


def show_admin_page(app: App) -> None:
    st.title("Admin")
    # The admin's own runs start and end while they sit here too (the page never watches runs).
    show_run_toasts(app, requester(app))
    actor = page_actor(app)
    if actor is None:
        return
    service = app.groups()
    section = st.segmented_control(
        "Section",
        SECTIONS,
        default=SECTIONS[0],
        required=True,
        key="admin:section",
        label_visibility="collapsed",
    )
    if section == "Live":
        show_live(app, actor)
    elif section == "Groups":
        show_group_editor(service, actor, app.occupancy.snapshot())
    elif section == "Tasks":
        show_task_assignments(app, actor, [record.name for record in service.groups()])
    elif section == "History":
        show_history(app, [record.name for record in service.groups()])
    else:
        show_audit_log(service, actor)
