"""The Admin page's widgets and charts (pages/admin.py only calls ``show_admin_page``)."""

from core.ui.admin.page import show_admin_page

__all__ = ["show_admin_page"]
