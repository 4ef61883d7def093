"""The one place the Streamlit app builds its process-wide ``App``.

``st.cache_resource`` makes ``get_app`` run once per server process, however
many sessions and reruns there are; every page asks it for the limiter and
the database. Once started, the process's long-lived objects are frozen out
of the garbage collector's walks (``core/ui/memory.py``). A settings error
is not cached, so fixing the environment and reloading the page is enough.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import streamlit as st

from core.app import App, start_app
from core.settings import SettingsError, load_settings
from core.ui.memory import freeze_in_background
from core.ui.wording import plain


def _secrets() -> dict[str, Any]:
    try:
        return dict(st.secrets)
    except Exception:  # no secrets.toml anywhere, or an unreadable one
        return {}


_LOG_FORMAT = "%(asctime)s %(levelname) -7s %(name)s: %(message)s"


def _log_to_console() -> None:
    """Show Taskgate's own INFO lines and APScheduler's warnings (late runs) in the server's log.

    Without a handler, Python prints only warnings, without time or source.
    """
    for name, level in (("core", logging.INFO), ("apscheduler", logging.WARNING)):
        logger = logging.getLogger(name)
        if not logger.handlers:
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter(_LOG_FORMAT))
            logger.addHandler(handler)
            logger.setLevel(level)


@st.cache_resource(show_spinner="Starting Taskgate…")
def _start() -> App:
    _log_to_console()
    app = start_app(load_settings(os.environ, _secrets()))
    freeze_in_background()
    return app


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
