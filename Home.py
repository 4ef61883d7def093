"""Taskgate's entrypoint: start the process's services once, then show the chosen page."""

from core.ui.navigation import show_app

show_app()
