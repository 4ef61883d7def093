"""Who this session's requests belong to, as the run pages record and look them up."""

from __future__ import annotations

from core.app import App
from core.ui.owner import current_owner


def requester(app: App) -> str:
    """The one owner of a single-owner install (TASKGATE_SINGLE_OWNER), else ``current_owner()``.

    With a single owner every tab, reload and new browser session sees the
    same runs; that is also how the browser tests follow one person across
    sessions before sign-in exists.
    """
    return app.settings.single_owner or current_owner()
