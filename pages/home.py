"""Home: what Taskgate is, and the live state of every group."""

import streamlit as st

from core.ui.bootstrap import get_app
from core.ui.group_cards import show_group_cards

app = get_app()

st.title("🚦 Taskgate")
st.markdown(
    "Taskgate lets many people share one GPU without stepping on each other. "
    "Every task runs through a named group that admits a set number of runs at once, "
    "and everyone else waits their turn in order, seeing their place in the queue."
)


@st.fragment(run_every=2)
def live_groups() -> None:
    st.subheader("Groups")
    show_group_cards(app.limiter.snapshot())


live_groups()
