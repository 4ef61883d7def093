"""The worker tests' task 'spin' (see ``behaviours``)."""

from tests.support.worker_tasks.behaviours import spec, spin

TASK = spec("spin", spin)
