"""Compute tasks that users run through concurrency groups.

Each task is a plain function ``fn(params, progress, device) -> result`` built only on
torch and numpy, so it can be tested and reused without the Streamlit UI. The UI finds
tasks, their forms and their parsers through :mod:`core.tasks.registry`.
"""
