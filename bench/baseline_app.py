"""The baseline app of bench/sessions_bench.py: one slot held with a bare ``threading.Lock``.

What a Streamlit app without Taskgate would do: a form with the same two
matrix-multiply settings, and a run of Taskgate's own matmul task that takes
the process's one lock on its own script thread. Nothing records, shows a queue, or polls: a waiter
is blocked in ``acquire()``, so a closed tab's run still runs when its turn
comes. The bench pauses the slot the way an admin pauses a group, with a
file whose existence makes the holder wait (``BASELINE_PAUSE_FILE``).
Streamlit's defaults apply (``runner.postScriptGC`` on) unless the bench
says otherwise.
"""

import os
import threading
import time

import streamlit as st

from core.tasks.device import pick_device
from core.tasks.registry import get

PAUSE_FILE = os.environ.get("BASELINE_PAUSE_FILE", "")


@st.cache_resource
def slot() -> threading.Lock:
    return threading.Lock()


def run(n: int, repeats: int) -> None:
    task, device = get("matmul"), pick_device()
    params = task.parse({"n": n, "dtype": "float32", "repeats": repeats}, device)
    task.fn(params, lambda *_: None, device)


st.title("Matrix-multiply benchmark")
st.write("The baseline: one slot behind a bare lock.")
with st.form("run"):
    n = st.number_input("Matrix size", min_value=64, max_value=8192, value=1536, step=64)
    repeats = st.number_input("Repeats", min_value=1, max_value=100, value=10)
    submitted = st.form_submit_button("Run", type="primary")
if submitted:
    asked = time.monotonic()
    waiting = st.empty()
    waiting.write("Waiting for a slot…")
    with slot():
        while PAUSE_FILE and os.path.exists(PAUSE_FILE):
            time.sleep(0.1)
        started, started_at = time.monotonic(), time.time()
        run(int(n), int(repeats))
    ran = time.monotonic() - started
    waiting.empty()
    st.write(
        f"Waited {started - asked:.2f} s for the slot · ran {ran:.2f} s · started {started_at}"
    )
