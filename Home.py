"""Taskgate's entrypoint.

``streamlit run Home.py`` imports this file and serves ``app``: its lifespan
starts Taskgate's services before the first connection (core/ui/server.py).
Every page view then runs this file as its script (``__main__``): the
layout, the navigation and the chosen page.
"""

import streamlit as st

from core.ui.navigation import show_app
from core.ui.server import lifespan, quiet_server_log, server_routes

if __name__ == "__main__":
    show_app()
else:
    quiet_server_log()
    app = st.App("Home.py", lifespan=lifespan, routes=server_routes())
