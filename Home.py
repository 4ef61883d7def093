"""Taskgate's entrypoint: start the process's services once, then show the chosen page."""

import streamlit as st

from core.ui.account import show_account
from core.ui.bootstrap import get_app
from core.ui.owner import access_of
from core.ui.task_pages import task_navigation

# An emoji, not a :material/ icon: Streamlit fetches a material favicon from fonts.gstatic.com
# (the icons in the page itself come from a font it ships), which fails offline.
st.set_page_config(page_title="Taskgate", page_icon="🚦", layout="wide")
app = get_app()
person = show_account()

pages = {
    "Taskgate": [
        st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
    ],
    "Tasks": task_navigation(),
}
if access_of(app.settings).may_open_admin(person):
    pages["Admin"] = [
        st.Page("app_pages/admin.py", title="Admin", icon=":material/admin_panel_settings:")
    ]
st.navigation(pages).run()
