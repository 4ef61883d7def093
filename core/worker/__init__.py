"""Durable runs: submitted to the database, claimed by a dispatcher, run in a worker process.

- ``service``: ``RunService.submit`` / ``cancel``, the refusals a person sees at once;
- ``dispatcher``: claims queued runs, holds their slots through the limiter, leases;
- ``pool`` and ``child``: warm worker processes that run one task at a time;
- ``store``: every SQL statement on runs, results and workers;
- ``codec``: how results are stored; ``sentences``: how runs that end badly are told;
- ``python -m core.worker``: a dispatcher of its own, for other hosts and devices.

Nothing here imports Streamlit.
"""
