"""Taskgate's entrypoint: start the process's services once, then show the chosen page."""

import streamlit as st

from core.ui.bootstrap import get_app

st.set_page_config(page_title="Taskgate", page_icon="🚦", layout="wide")
get_app()

navigation = st.navigation(
    {
        "Taskgate": [
            st.Page("pages/home.py", title="Home", icon="🏠", default=True),
        ],
    }
)
navigation.run()
