"""Who a request belongs to: the signed-in user, else this browser session.

The owner names a person's runs in ``task_run`` (the "My runs" page) and is
what a group's per-person cap counts. Where the app has ``st.login``
configured, a signed-in user is their e-mail address, the same in every tab
and on every visit. Otherwise each browser session gets a random id kept in
``st.session_state``: stable across reruns and page switches, new after a
reload, and never shared with another session.
"""

from __future__ import annotations

import secrets

import streamlit as st

_SESSION_OWNER_KEY = "taskgate.session_owner"


def signed_in_email() -> str | None:
    """The signed-in user's e-mail address, or None without a login (or without auth set up)."""
    user = st.user
    if not user.get("is_logged_in"):
        return None
    email = user.get("email")
    return email if isinstance(email, str) and email else None


def current_owner() -> str:
    """The owner to record for requests made from this session."""
    email = signed_in_email()
    if email is not None:
        return email
    if _SESSION_OWNER_KEY not in st.session_state:
        st.session_state[_SESSION_OWNER_KEY] = f"session-{secrets.token_hex(4)}"
    return st.session_state[_SESSION_OWNER_KEY]
