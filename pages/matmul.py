"""Matrix-multiply benchmark page: its form, its run through its group, its result."""

from core.ui.navigation import enter_page
from core.ui.task_page import show_task_page

enter_page()
show_task_page("matmul")
