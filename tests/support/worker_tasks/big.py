"""The worker tests' task 'big' (see ``behaviours``)."""

from tests.support.worker_tasks.behaviours import big, spec

TASK = spec("big", big)
