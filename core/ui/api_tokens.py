"""The "API tokens" section of My runs: make a token (shown once), see when each was used, revoke.

Tokens let scripts and notebooks queue runs as this person through /api/v1
(core/api). The secret is shown only right after it was made: the database
keeps its hash alone (core/api/tokens.py).
"""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from core.api.tokens import TokenRefused, create_token, list_tokens, revoke_token
from core.app import App
from core.identity import Person
from core.ui.wording import plain

_NEW_KEY = "taskgate.api_tokens.new"
_NAME_KEY = "taskgate.api_tokens.name"
_PROBLEM_KEY = "taskgate.api_tokens.problem"


def _when(moment: datetime | None) -> str:
    return "never" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def _create(app: App, person: Person) -> None:
    try:
        info, secret = create_token(app.engine, person, st.session_state.get(_NAME_KEY, ""))
    except TokenRefused as problem:
        st.session_state[_PROBLEM_KEY] = str(problem)
        return
    st.session_state.pop(_PROBLEM_KEY, None)
    st.session_state[_NEW_KEY] = (info.name, secret)
    st.session_state[_NAME_KEY] = ""


def _revoke(app: App, owner: str, token_id: int) -> None:
    revoke_token(app.engine, owner, token_id)


def show_api_tokens(app: App, person: Person) -> None:
    """The section, in an expander (open while a new token is being shown)."""
    new = st.session_state.get(_NEW_KEY)
    with st.expander("API tokens for scripts and notebooks", expanded=new is not None):
        st.caption(
            "A token lets code queue runs as you, in the same line as this page "
            "(see the README's API section). Keep it secret; revoke it when it is no longer used."
        )
        if new is not None:
            name, secret = new
            st.success(
                f"Token {plain(name)} made. Copy it now: it is not shown again.",
                icon=":material/key:",
            )
            st.code(secret, language=None)
            if st.button("I have copied it", key="taskgate.api_tokens.done"):
                st.session_state.pop(_NEW_KEY, None)
                st.rerun()
        with st.form("taskgate.api_tokens.form", clear_on_submit=False, border=False):
            st.text_input("Token name", key=_NAME_KEY, placeholder="e.g. sweep notebook")
            st.form_submit_button("Make a token", on_click=_create, args=(app, person))
        if problem := st.session_state.get(_PROBLEM_KEY):
            st.error(plain(problem), icon=":material/error:")
        tokens = list_tokens(app.engine, person.owner)
        for token in [token for token in tokens if token.revoked_at is None]:
            name, created, used, revoke = st.columns([3, 3, 3, 2], vertical_alignment="center")
            name.write(plain(token.name))
            created.caption(f"made {_when(token.created_at)}")
            used.caption(f"last used {_when(token.last_used_at)}")
            revoke.button(
                "Revoke",
                key=f"taskgate.api_tokens.revoke.{token.id}",
                on_click=_revoke,
                args=(app, person.owner, token.id),
            )
