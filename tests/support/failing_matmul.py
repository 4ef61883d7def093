"""Makes the matmul task fail, in the web process and in its worker processes.

For one page test: ``TASKGATE_TASK_MODULES=tests.support.failing_matmul``.
The test puts the real task back afterwards (``monkeypatch.setitem``).
"""

from __future__ import annotations

import dataclasses

from core.tasks import registry


def fail(params, progress, device):
    progress(0.0, "about to fail")
    raise RuntimeError("CUDA error: an illegal memory access\nTraceback (most recent call)")


registry.TASKS["matmul"] = dataclasses.replace(registry.TASKS["matmul"], fn=fail)
