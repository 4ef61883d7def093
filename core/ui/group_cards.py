"""Every group as a small card: how many slots are busy, who waits, whether it is paused."""

from __future__ import annotations

import streamlit as st

from core.limiter import GroupSnapshot
from core.ui.wording import plain

CARDS_PER_ROW = 4


def group_state_line(group: GroupSnapshot) -> str:
    """One line a person reads at a glance, e.g. "1 of 2 slots busy · 3 waiting"."""
    parts = [f"{group.running} of {group.limit} slot{'s' if group.limit != 1 else ''} busy"]
    parts.append(f"{group.queued} waiting" if group.queued else "nobody waiting")
    if group.paused:
        parts.append("paused")
    return " · ".join(parts)


def show_group_cards(snapshot: dict[str, GroupSnapshot]) -> None:
    groups = sorted(snapshot.values(), key=lambda g: g.name.casefold())
    if not groups:
        st.info("No groups yet. An admin can create one on the Admin page.")
        return
    for start in range(0, len(groups), CARDS_PER_ROW):
        columns = st.columns(CARDS_PER_ROW)
        for column, group in zip(columns, groups[start : start + CARDS_PER_ROW], strict=False):
            with column.container(border=True):
                icon = (
                    ":gray[:material/pause_circle:]"
                    if group.paused
                    else ":green[:material/check_circle:]"
                    if group.running < group.limit
                    else ":orange[:material/hourglass_top:]"
                )
                st.markdown(f"**{icon} Group {plain(group.name)}**")
                st.caption(group_state_line(group))
                if group.description:
                    st.caption(plain(group.description))
