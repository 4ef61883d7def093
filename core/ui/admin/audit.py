"""The audit log: who changed which group, when, and from what to what."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.auth import Actor
from core.groups import GroupService
from core.ui.admin.format import utc_time

AUDIT_ROWS_SHOWN = 200


def show_audit_log(service: GroupService, actor: Actor) -> None:
    entries = service.audit_log(actor, AUDIT_ROWS_SHOWN)
    if not entries:
        st.info("No group has been changed yet.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Time (UTC)": utc_time(e.at),
                    "Who": e.actor,
                    "Action": e.action,
                    "Group": e.group,
                    "Change": e.change,
                }
                for e in entries
            ]
        ),
        hide_index=True,
    )
