"""Tasks for the worker tests: ``TASKGATE_TASK_MODULES=tests.support.worker_tasks``."""
