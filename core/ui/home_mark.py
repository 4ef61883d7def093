"""The mark Home.py leaves in ``st.session_state`` for the page it is about to run.

A page that finds it knows this script run went through Home.py (its layout,
its navigation); one that does not was run alone by Streamlit's old
multipage mode and hands over (``core/ui/navigation.py``). Every page takes
the mark, so none is left over for a later run.
"""

from __future__ import annotations

import streamlit as st

_KEY = "taskgate.navigation.from_home"


def leave_mark() -> None:
    st.session_state[_KEY] = True


def take_mark() -> bool:
    """True if Home.py ran this script run; the mark is gone afterwards."""
    return bool(st.session_state.pop(_KEY, False))
