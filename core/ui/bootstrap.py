"""Where the process's ``App`` lives, and how the server's lifespan starts and closes it.

The server (``streamlit run Home.py`` serves Home.py's ``st.App``) calls
``start_served`` before it accepts the first connection and ``close_served``
when it stops (``core/ui/server.py``), so migrations, the runner and the
background jobs work with no page open, and queued runs run after a restart
without a visitor. A bad setting is kept as its sentence: pages show it and
``/readyz`` answers 503 with it, and the log says it once, without a traceback.

Under AppTest there is no server and no lifespan: the first ``get_app()``
starts the App itself, once per process, through ``st.cache_resource``, and
the ``apptest_app`` fixture closes it. Once started, the process's
long-lived objects are frozen out of the garbage collector's walks
(``core/ui/memory.py``).
"""

from __future__ import annotations

import atexit
import logging
import os
from typing import Any

import streamlit as st

from core.app import App, start_app
from core.settings import SettingsError, load_settings
from core.ui.memory import freeze_in_background
from core.ui.wording import plain

log = logging.getLogger(__name__)

_LOG_FORMAT = "%(asctime)s %(levelname) -7s %(name)s: %(message)s"


class _Served:
    """What the lifespan started: the App, or the setting that kept it from starting."""

    serving = False
    """True once a server's lifespan began: from then on no page starts an App of its own."""
    app: App | None = None
    error: SettingsError | None = None


class NotServing(RuntimeError):
    """The server is stopping (or not yet started): there is no App to give out."""


def _secrets() -> dict[str, Any]:
    try:
        return dict(st.secrets)
    except Exception:  # no secrets.toml anywhere, or an unreadable one
        return {}


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


def _started() -> App:
    _log_to_console()
    app = start_app(load_settings(os.environ, _secrets()))
    freeze_in_background()
    return app


def start_served() -> None:
    """The lifespan's start: the App, or the sentence of the setting that stops it."""
    _Served.serving = True
    try:
        _Served.app = _started()
    except SettingsError as error:
        _Served.error = error
        log.error("Taskgate cannot start: %s Fix it and restart the server.", error)


def close_served() -> None:
    """The lifespan's end: runs recorded, jobs stopped, writers flushed, once."""
    app, _Served.app = _Served.app, None
    if app is not None:
        atexit.unregister(app.close)  # closed here, while the interpreter is still whole
        app.close()


def served_app() -> App | None:
    """The App the lifespan started, None before it started or once it closed."""
    return _Served.app


def served_problems() -> list[str]:
    """Why this process is not ready to serve (``/readyz``); empty when it is."""
    if _Served.error is not None:
        return [f"Taskgate cannot start: {_Served.error}"]
    if _Served.app is None:
        return ["Taskgate is not running (starting or stopping)."]
    return _Served.app.health()


@st.cache_resource(show_spinner="Starting Taskgate…")
def _started_once() -> App:
    return _started()


def started_app() -> App:
    """The process's App without any page output (for tools and tests)."""
    if _Served.error is not None:
        raise _Served.error
    if _Served.app is not None:
        return _Served.app
    if _Served.serving:
        raise NotServing("Taskgate is stopping.")
    return _started_once()  # AppTest: no server, no lifespan


def get_app() -> App:
    """The process's App; on a bad setting, show the sentence and stop the page."""
    try:
        return started_app()
    except SettingsError as error:
        st.error(f"Taskgate cannot start: {plain(str(error))}")
        st.stop()
        raise  # unreachable: st.stop() raises
    except NotServing:
        st.info("Taskgate is stopping. Reload the page once it is back.")
        st.stop()
        raise
