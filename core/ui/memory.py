"""Garbage collection that stays out of the way of page runs.

Streamlit calls ``gc.collect(2)`` after every script and fragment run
(``runner.postScriptGC``). With torch, pandas and plotly loaded, that full
collection walks some 400,000 objects and holds the GIL for 0.2-0.4 s, on
every run of every session: it was most of a page's render time and of what
one admin's live view cost. Taskgate turns it off in ``.streamlit/config.toml``
and leaves collection to CPython's own generational collector, which stays
enabled: it collects the young generations by allocation thresholds and the
oldest one when it has grown by a quarter, so memory stays bounded (see the
soak in docs/BENCHMARKS.md).

What makes even CPython's full collections cheap is ``gc.freeze()`` once the
process has started (on a thread, so the first visitor does not wait for
it): the modules, the libraries and the App live as long as
the process, so they move to the permanent generation that no collection
walks, and a full collection only visits what sessions allocated since.
"""

from __future__ import annotations

import functools
import gc
import importlib
import logging
import pkgutil
import threading

import streamlit as st

import core

log = logging.getLogger(__name__)

HEAVY_LIBRARIES = ("numpy", "pandas", "torch", "plotly.graph_objects", "sqlalchemy")
"""Libraries the pages import, loaded before the freeze so their objects are frozen too."""


def import_everything() -> None:
    """Import the heavy libraries and every module of ``core`` (pages import them lazily)."""
    for name in HEAVY_LIBRARIES:
        importlib.import_module(name)
    for module in pkgutil.walk_packages(core.__path__, prefix="core."):
        importlib.import_module(module.name)


def freeze_in_background() -> None:
    """Freeze on a thread of its own, so the first visitor's page does not wait for the imports.

    Importing everything takes seconds on a busy machine; until it is done,
    collections simply walk more.
    """
    threading.Thread(
        target=freeze_long_lived_objects, name="taskgate-gc-freeze", daemon=True
    ).start()


@functools.cache
def freeze_long_lived_objects() -> int:
    """Collect once, then move every object alive now out of the collector's reach.

    Runs once per process (cached), after start-up; returns how many objects
    are frozen. Collecting first means only live objects are frozen, not
    garbage; a frozen object is never freed, so it must not run twice in a
    process that starts and closes many Apps (the tests).
    """
    import_everything()
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info(
        "memory: runner.postScriptGC=%s, %d long-lived objects frozen, cyclic GC enabled=%s",
        st.get_option("runner.postScriptGC"),
        frozen,
        gc.isenabled(),
    )
    return frozen
