"""Signing in as the admin, and who is signed in in this browser session.

The signed-in Actor lives in ``st.session_state`` under a key no widget
uses, so the browser cannot set it; only a right password puts it there.
The form clears itself on submit, so the password does not linger in the
session either. The throttle keys attempts by this session and by the
client's address (``st.context.ip_address``; behind a reverse proxy that is
the proxy's, which is one reason to let admins sign in by identity there).
"""

from __future__ import annotations

import uuid

import streamlit as st

from core.auth import Actor, AdminAuth, SignInRefused
from core.ui.wording import plain

_ACTOR_KEY = "admin:actor"
_SESSION_KEY = "admin:session"


def signed_in_actor() -> Actor | None:
    actor = st.session_state.get(_ACTOR_KEY)
    return actor if isinstance(actor, Actor) and actor.is_admin else None


def _session() -> str:
    if _SESSION_KEY not in st.session_state:
        st.session_state[_SESSION_KEY] = uuid.uuid4().hex
    return st.session_state[_SESSION_KEY]


def show_sign_in(auth: AdminAuth) -> None:
    st.write("Sign in as the admin to watch the groups live, change them and see their history.")
    with st.form("admin-sign-in", clear_on_submit=True, width=420):
        password = st.text_input("Admin password", type="password", key="admin:password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if not submitted:
        return
    try:
        st.session_state[_ACTOR_KEY] = auth.sign_in(password, _session(), st.context.ip_address)
    except SignInRefused as refused:
        st.error(str(refused))
        return
    st.rerun()


def show_signed_in_bar(actor: Actor) -> None:
    left, right = st.columns([4, 1], vertical_alignment="center")
    left.caption(f"Signed in as **{plain(actor.name)}**.")
    if right.button("Sign out", key="admin:sign-out", width="stretch"):
        del st.session_state[_ACTOR_KEY]
        st.rerun()
