"""Numbers and times as an admin reads them in tables."""

from __future__ import annotations

from datetime import UTC, datetime


def seconds(value: float | None) -> str:
    """E.g. "0.4 s", "12 s", "3 min 5 s", "2 h 10 min"; an en dash when there is none."""
    if value is None:
        return "–"
    if value < 10:
        return f"{value:.1f} s"
    whole = round(value)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def utc_time(at: datetime) -> str:
    """E.g. "2026-11-24 14:02:11" (the tables say UTC in their headings)."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
