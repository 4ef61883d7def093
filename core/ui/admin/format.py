"""Numbers and times as an admin reads them in tables."""

from __future__ import annotations

from datetime import UTC, datetime

from core.ui.wording import duration


def seconds(value: float | None) -> str:
    """A duration as the whole app writes it (``wording.duration``); an en dash when none."""
    return "–" if value is None else duration(value)


def utc_time(at: datetime) -> str:
    """E.g. "2026-11-24 14:02:11" (the tables say UTC in their headings)."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
