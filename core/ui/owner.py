"""Who is using this browser session: the signed-in person, else this browser's guest.

The owner id names a person's runs in ``task_run`` (the "My runs" page) and
is what a group's per-person cap counts, so it must be the same in every tab,
after a reload and on every replica. A signed-in person's id comes from
``st.user`` (``core.identity.person_from_user``), which Streamlit fills from
its own sign-in cookie (``st.login``) or from an authenticating proxy's
headers (``server.trustedUserHeaders``).

A guest's id lives in the ``taskgate_guest`` cookie. ``st.context.cookies``
only reads the cookies the browser sent when the session opened, so the first
session of a new browser makes an id, keeps it in ``st.session_state`` and
writes the cookie with a line of JavaScript (``remember_guest``); every later
tab and reload sends it back. A cookie that is not a well-formed guest id is
ignored and replaced.
"""

from __future__ import annotations

import json

import streamlit as st

from core.identity import Access, Person, guest, is_guest_id, new_guest_id, person_from_user
from core.settings import Settings
from core.ui.bootstrap import get_app

GUEST_COOKIE = "taskgate_guest"
GUEST_COOKIE_MAX_AGE_S = 400 * 24 * 3600  # the longest lifetime browsers allow a cookie
_GUEST_KEY = "taskgate.guest"
_GUEST_PERSON_KEY = "taskgate.guest_person"


def access_of(settings: Settings) -> Access:
    """Who may run tasks and who is an admin, from ``TASKGATE_GUESTS`` and ``TASKGATE_ADMINS``."""
    return Access.of(settings.guests, settings.admins)


def signed_in_person() -> Person | None:
    """The person ``st.user`` names (through ``st.login`` or a trusted proxy), else None."""
    from_proxy = bool(st.get_option("server.trustedUserHeaders"))
    return person_from_user(st.user.to_dict(), from_proxy=from_proxy)


def _guest_owner() -> str:
    if _GUEST_KEY not in st.session_state:
        sent = st.context.cookies.get(GUEST_COOKIE)
        st.session_state[_GUEST_KEY] = sent if is_guest_id(sent) else new_guest_id()
    return st.session_state[_GUEST_KEY]


def current_person() -> Person:
    """The signed-in person, else this browser's guest (with the name they chose)."""
    person = signed_in_person()
    if person is not None:
        return person
    cached = st.session_state.get(_GUEST_PERSON_KEY)
    if isinstance(cached, Person) and cached.owner == _guest_owner():
        return cached
    person = guest(_guest_owner(), get_app().engine)
    st.session_state[_GUEST_PERSON_KEY] = person
    return person


def forget_guest_name() -> None:
    """Read the guest's name from the database again on the next ``current_person``."""
    st.session_state.pop(_GUEST_PERSON_KEY, None)


def current_owner() -> str:
    """The owner to record for requests made from this session."""
    return current_person().owner


def remember_guest() -> None:
    """Make sure the browser keeps this session's guest id in its cookie.

    Runs on each script run of a guest session whose browser did not send the
    cookie with this id; the snippet renders nothing.
    """
    owner = _guest_owner()
    if st.context.cookies.get(GUEST_COOKIE) == owner:
        return
    cookie = f"{GUEST_COOKIE}={owner}; Path=/; Max-Age={GUEST_COOKIE_MAX_AGE_S}; SameSite=Lax"
    script = f"<script>document.cookie = {json.dumps(cookie)};</script>"
    st.html(script, unsafe_allow_javascript=True)
