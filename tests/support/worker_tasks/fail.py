"""The worker tests' task 'fail' (see ``behaviours``)."""

from tests.support.worker_tasks.behaviours import fail, spec

TASK = spec("fail", fail)
