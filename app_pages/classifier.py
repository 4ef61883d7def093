"""Classifier training page: its form, its run through its group, its result."""

from core.ui.task_page import show_task_page

show_task_page("classifier")
