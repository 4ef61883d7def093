"""Taskgate's entrypoint: start the process's services once, then show the chosen page."""

import streamlit as st

from core.ui.bootstrap import get_app
from core.ui.task_pages import task_navigation

st.set_page_config(page_title="Taskgate", page_icon=":material/traffic:", layout="wide")
get_app()

navigation = st.navigation(
    {
        "Taskgate": [
            st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
        ],
        "Tasks": task_navigation(),
        "Admin": [
            st.Page("app_pages/admin.py", title="Admin", icon=":material/admin_panel_settings:")
        ],
    }
)
navigation.run()
