"""The worker tests' task 'sleepy' (see ``behaviours``)."""

from tests.support.worker_tasks.behaviours import sleepy, spec

TASK = spec("sleepy", sleepy)
