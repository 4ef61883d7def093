"""Compute tasks that users run through concurrency groups, one module per task.

A task module declares ``TASK = TaskSpec(...)`` (:mod:`core.tasks.task`): its inputs,
and a plain function ``fn(params, progress, device) -> TaskResult`` built on torch, so
it can be tested and reused without the Streamlit UI. :mod:`core.tasks.registry`
finds the modules; the other modules here are what tasks are made of.
"""
