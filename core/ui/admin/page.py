"""The Admin page: a sign-in gate, then the live view, the group editor, history and audit.

Only the chosen section runs on a rerun, so the history queries do not slow
down an edit and the live view's one-second fragment exists only while it
is on screen.
"""

from __future__ import annotations

import streamlit as st

from core.app import App
from core.groups import GroupService
from core.ui.admin.audit import show_audit_log
from core.ui.admin.editor import show_group_editor
from core.ui.admin.history import show_history
from core.ui.admin.live import show_live
from core.ui.admin.sign_in import show_sign_in, show_signed_in_bar, signed_in_actor

SECTIONS = ("Live", "Groups", "History", "Audit log")


def show_admin_page(app: App) -> None:
    st.title("Admin")
    actor = signed_in_actor()
    if actor is None:
        show_sign_in(app.admin)
        return
    show_signed_in_bar(actor)
    service = GroupService(app.engine, app.groups, app.limiter)
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
        show_group_editor(service, actor, app.limiter.snapshot())
    elif section == "History":
        show_history(app, [record.name for record in service.groups()])
    else:
        show_audit_log(service, actor)
