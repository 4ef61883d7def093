"""The local executor: granted runs carried out in this host's warm worker processes.

- ``executor``: ``LocalExecutor``, the executor contract for the admitter (core/runs/);
- ``pool`` and ``child``: warm worker processes that run one task at a time;
- ``codec``: how inputs and results are stored; ``gpu``: the device's figures;
- ``fleet_view``: the admin's view of the processes that run tasks;
- ``python -m core.worker``: an executing process of its own, for other hosts and devices.

Nothing here imports Streamlit.
"""
