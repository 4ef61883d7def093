"""The app's pages, in one list, and the hand-over that puts every page under Home.py.

``show_app()`` is all of Home.py: page config, the process's App, the
navigation, then the chosen page, with a mark in ``st.session_state`` that
this script run went through Home. A page script that finds no mark was run
by Streamlit's old automatic multipage mode: a process runs ``pages/*.py``
directly for a deep link (``/admin``) until some session has called
``st.navigation`` (a fresh server's first visitor; every AppTest run, since
AppTest resets that switch). Such a page hands over: it runs ``show_app()``
itself, whose ``st.navigation`` (with every page, or the URL's page would be
"not found") turns the old mode off for the process and runs the URL's page
in Taskgate's layout, and then stops its own script. Doing this in place
rather than by ``st.rerun()`` keeps a button click that came with the run.
"""

from __future__ import annotations

import streamlit as st

from core.ui.account import show_account
from core.ui.bootstrap import get_app
from core.ui.home_mark import leave_mark, take_mark
from core.ui.owner import access_of, current_person
from core.ui.task_pages import task_navigation

HOME_PATH = "pages/home.py"
ADMIN_PATH = "pages/admin.py"


def page_sections(*, with_admin: bool = True) -> dict[str, list[st.Page]]:
    """Every page of the app by sidebar section; the Admin section only for who may open it."""
    sections = {
        "Taskgate": [st.Page(HOME_PATH, title="Home", icon=":material/home:", default=True)],
        "Tasks": task_navigation(),
    }
    if with_admin:
        sections["Admin"] = [
            st.Page(ADMIN_PATH, title="Admin", icon=":material/admin_panel_settings:")
        ]
    return sections


def show_app() -> None:
    """Home.py: set the layout, start the process's services once, run the chosen page."""
    # An emoji, not a :material/ icon: Streamlit fetches a material favicon from
    # fonts.gstatic.com (the icons in the page come from a font it ships), which fails offline.
    st.set_page_config(page_title="Taskgate", page_icon="🚦", layout="wide")
    app = get_app()
    access = access_of(app.settings)
    person = current_person()
    admitted = not person.is_guest or access.guests_may_watch()
    # Navigation first, even for a guest who is not admitted: any st.navigation call
    # ends Streamlit's old pages/ mode for the process (see enter_page).
    page = st.navigation(
        page_sections(with_admin=access.may_open_admin(person)),
        position="sidebar" if admitted else "hidden",
    )
    show_account()  # stops the page for a guest who is not admitted
    leave_mark()
    page.run()


def enter_page() -> None:
    """A page script's first line: go on if Home.py runs it, else hand over to Home.py."""
    if take_mark():
        return
    show_app()
    st.stop()
