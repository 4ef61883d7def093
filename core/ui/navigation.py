"""The app's pages, in one list, and Home.py's script run: layout, navigation, the page.

Every page runs under Home.py: Streamlit's old automatic mode for the
``pages/`` folder, which would run a page script alone, is off from the
server's start (core/ui/server.py), and under AppTest as well
(tests/conftest.py). The navigation registers every page the person may
open, so a deep link to any of them is found.
"""

from __future__ import annotations

import streamlit as st

from core.ui.account import show_account
from core.ui.bootstrap import get_app
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
    # Navigation first, even for a guest who is not admitted: it resolves the URL's page.
    page = st.navigation(
        page_sections(with_admin=access.may_open_admin(person)),
        position="sidebar" if admitted else "hidden",
    )
    show_account()  # stops the page for a guest who is not admitted
    page.run()
