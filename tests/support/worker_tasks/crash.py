"""The worker tests' task 'crash' (see ``behaviours``)."""

from tests.support.worker_tasks.behaviours import crash, spec

TASK = spec("crash", crash)
