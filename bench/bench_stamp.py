"""The durable bench's task: it writes down when its own body starts and ends.

``durable_bench.py`` loads it with ``TASKGATE_TASK_MODULES=bench_stamp`` and this
folder on ``PYTHONPATH`` (worker processes inherit both). The stamps are taken
inside the task body, so the bench measures what a person waits for without
relying on any timing the code under test records itself.
"""

import time

from core.tasks.params import FieldSpec
from core.tasks.result import Metric, TaskResult
from core.tasks.task import TaskSpec


def stamp(params: dict, progress, device) -> TaskResult:
    """Append ``start EPOCH``, hold the slot for ``hold_s``, append ``end EPOCH``."""
    with open(params["log"], "a") as log:
        log.write(f"start {time.time()}\n")
        log.flush()
        time.sleep(params["hold_s"])
        log.write(f"end {time.time()}\n")
    return TaskResult((Metric("Held", f"{params['hold_s']} s"),))


TASK = TaskSpec(
    key="bench_stamp",
    title="Bench stamp",
    description="Writes when its body starts and ends to a file: for bench/durable_bench.py.",
    group="bench",
    fields=(
        FieldSpec.text("log", "Stamp file", "stamps.log", max_length=1000),
        FieldSpec.number("hold_s", "Hold (s)", 0.0, 10.0, 0.0, step=0.01),
    ),
    fn=stamp,
)
