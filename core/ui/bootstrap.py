"""The one place the Streamlit app builds its process-wide ``App``.

``st.cache_resource`` makes ``get_app`` run once per server process, however
many sessions and reruns there are; every page asks it for the limiter and
the database. A settings error is not cached, so fixing the environment and
reloading the page is enough.
"""

from __future__ import annotations

import os
from typing import Any

import streamlit as st

from core.app import App, start_app
from core.settings import SettingsError, load_settings
from core.ui.wording import plain


def _secrets() -> dict[str, Any]:
    try:
        return dict(st.secrets)
    except Exception:  # no secrets.toml anywhere, or an unreadable one
        return {}


@st.cache_resource(show_spinner="Starting Taskgate…")
def _start() -> App:
    return start_app(load_settings(os.environ, _secrets()))


def started_app() -> App:
    """The process's App without any page output (for tools and tests)."""
    return _start()


def get_app() -> App:
    """The process's App; on a bad setting, show the sentence and stop the page."""
    try:
        return _start()
    except SettingsError as error:
        st.error(f"Taskgate cannot start: {plain(str(error))}")
        st.stop()
        raise  # unreachable: st.stop() raises
