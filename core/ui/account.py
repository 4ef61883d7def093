"""The sidebar's account control, drawn on every page: who you are, Sign in / Sign out.

``Home.py`` calls ``show_account`` before ``st.navigation`` runs the chosen
page, so every page gets it and a guest's cookie is written whichever page
they opened first. With ``TASKGATE_GUESTS=none`` it is also the gate: a guest
sees a sentence asking them to sign in and no page at all.

Signing in is Streamlit's own ``st.login`` (OpenID Connect, configured in
``.streamlit/secrets.toml`` ``[auth]``); a person named by an authenticating
proxy is signed in already and signs out at the proxy, so they get no button.
"""

from __future__ import annotations

import logging
from typing import Any

import streamlit as st
from streamlit.errors import StreamlitAuthError

from core.identity import Person, set_guest_name
from core.ui.bootstrap import get_app
from core.ui.owner import (
    access_of,
    current_person,
    forget_guest_name,
    remember_guest,
)
from core.ui.wording import plain

log = logging.getLogger(__name__)

SIGN_IN_BROKEN = (
    "Sign-in is not set up correctly on this server, so it cannot start; "
    "the server's log says what is wrong."
)
GUESTS_BLOCKED = "Sign in to use Taskgate: this installation does not admit guests."
GUESTS_WATCH = "Sign in to run tasks: guests here can look around but not start runs."
NO_SIGN_IN_SET_UP = (
    "Sign-in is not set up here, so guests cannot get in; ask whoever runs Taskgate."
)


def _auth_section() -> Any:
    try:
        return st.secrets.get("auth")
    except Exception:  # no secrets.toml at all, or an unreadable one: no sign-in
        return None


_PROVIDER_KEYS = {"client_id", "client_secret", "server_metadata_url"}


def login_providers() -> list[str | None]:
    """The providers ``st.login`` can use: None for ``[auth]`` itself, and each ``[auth.NAME]``.

    A named section counts when it holds a provider's keys (so
    ``[auth.client_kwargs]`` is not one). Empty when ``[auth]`` is not
    configured: then nobody signs in through Streamlit, though a trusted proxy
    may still name people.
    """
    auth = _auth_section()
    if not auth:
        return []
    default: list[str | None] = [None] if "client_id" in auth else []
    named = [
        name
        for name, value in auth.items()
        if hasattr(value, "keys") and not _PROVIDER_KEYS.isdisjoint(value.keys())
    ]
    return default + named


def _sign_in_buttons(providers: list[str | None], where: str) -> None:
    for provider in providers:
        label = "Sign in" if provider is None else f"Sign in with {provider.title()}"
        if st.button(label, key=f"account:{where}:{provider or ''}", type="primary"):
            _login(provider)


def _login(provider: str | None) -> None:
    """Hand over to ``st.login``; a broken ``[auth]`` is a sentence here, details in the log."""
    try:
        st.login() if provider is None else st.login(provider)
    except StreamlitAuthError as error:
        log.error("st.login refused the [auth] settings in secrets.toml: %s", error)
        st.error(SIGN_IN_BROKEN)


def _show_guest(person: Person, providers: list[str | None], may_run: bool) -> None:
    st.markdown(f"**{plain(person.name)}** · guest in this browser")
    if providers:
        _sign_in_buttons(providers, "sidebar")
        st.caption("Signing in keeps your runs with you across browsers and devices.")
    else:
        st.caption("Your runs stay with this browser; another browser is another guest.")
    if not may_run:
        return
    with st.popover("Change your name", width="stretch"):
        with st.form("account:guest-name", clear_on_submit=True, border=False):
            typed = st.text_input("Shown as", max_chars=40, placeholder=person.name)
            saved = st.form_submit_button("Save")
        if saved:
            try:
                set_guest_name(get_app().engine, person.owner, typed)
            except ValueError as problem:
                st.error(str(problem))
                return
            forget_guest_name()
            st.rerun()


def _show_signed_in(person: Person) -> None:
    st.markdown(f"Signed in as **{plain(person.name)}**")
    if person.email and person.email != person.name:
        st.text(person.email)  # text, not markdown: an address must not become a mailto link
    if st.user.get("is_logged_in") is True:
        if st.button("Sign out", key="account:sign-out"):
            st.logout()


def show_account() -> Person:
    """Draw the control in the sidebar and return who is using this session.

    Stops the page (``st.stop``) when the person is a guest and guests are
    not admitted.
    """
    app = get_app()
    access = access_of(app.settings)
    person = current_person()
    providers = login_providers()
    if person.is_guest and not access.guests_may_watch():
        st.info(GUESTS_BLOCKED if providers else f"{GUESTS_BLOCKED} {NO_SIGN_IN_SET_UP}")
        _sign_in_buttons(providers, "gate")
        st.stop()
    with st.sidebar:
        if person.is_guest:
            remember_guest()
            _show_guest(person, providers, access.may_run(person))
        else:
            _show_signed_in(person)
    return person
