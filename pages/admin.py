"""Admin: sign in, watch the groups live, edit them, and read their history and audit log."""

from core.ui.admin import show_admin_page
from core.ui.bootstrap import get_app

show_admin_page(get_app())
