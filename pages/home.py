"""Home: what Taskgate is, its task pages, and the live state of every group."""

import streamlit as st

from core.ui.bootstrap import get_app
from core.ui.group_cards import show_group_cards
from core.ui.requester import requester
from core.ui.run_toasts import toast_run_changes
from core.ui.task_list import show_task_list

app = get_app()

st.title(":material/traffic: Taskgate")
st.markdown(
    "Taskgate lets many people share one GPU without stepping on each other. "
    "Every task runs through a named group that admits a set number of runs at once, "
    "and everyone else waits their turn in order, seeing their place in the queue."
)


@st.fragment(run_every=2)
def live_groups() -> None:
    snapshot = app.occupancy.snapshot()
    st.subheader("Tasks")
    show_task_list(app.engine, snapshot)
    st.subheader("Groups")
    show_group_cards(snapshot)
    toast_run_changes(app, requester(app))


live_groups()
