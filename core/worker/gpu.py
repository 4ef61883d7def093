"""What a worker's device reports about itself: memory in use / in total, and utilisation.

A worker writes these with its heartbeat (``worker`` row) for the admin's
live view. CUDA memory comes from NVML when ``pynvml`` is importable (it
reads the whole device, every process's memory, without a CUDA context in
the worker process) and from ``torch.cuda.mem_get_info`` otherwise; utilisation
only from NVML. The CPU, and Apple's MPS, report none: the figures are None
and the view says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Connection, update

from db.models import Worker

log = logging.getLogger(__name__)
WORKERS = Worker.__table__


@dataclass(frozen=True)
class DeviceFigures:
    memory_used: int | None = None
    memory_total: int | None = None
    utilization: float | None = None
    """Percent of the last sample period the device was busy (NVML's figure)."""


NONE = DeviceFigures()


def _cuda_index(device: str) -> int | None:
    kind, _, index = device.partition(":")
    if kind != "cuda":
        return None
    return int(index) if index.isdigit() else 0


def _from_nvml(index: int) -> DeviceFigures | None:
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
        rates = pynvml.nvmlDeviceGetUtilizationRates(handle)
        return DeviceFigures(int(memory.used), int(memory.total), float(rates.gpu))
    except Exception:  # pynvml.NVMLError and friends: a driver that cannot say
        log.debug("NVML could not report on cuda:%d", index, exc_info=True)
        return None


def device_figures(device: str) -> DeviceFigures:
    """This host's figures for ``device`` (e.g. "cuda:1"); NONE where it reports none."""
    index = _cuda_index(device)
    if index is None:
        return NONE
    figures = _from_nvml(index)
    if figures is not None:
        return figures
    try:
        import torch

        free, total = torch.cuda.mem_get_info(index)
    except Exception:  # no driver, or the device went away: report nothing rather than fail
        log.debug("torch could not report on cuda:%d", index, exc_info=True)
        return NONE
    return DeviceFigures(int(total - free), int(total), None)


def record(connection: Connection, worker_id: str, figures: DeviceFigures) -> None:
    connection.execute(
        update(WORKERS)
        .where(WORKERS.c.id == worker_id)
        .values(
            gpu_memory_used=figures.memory_used,
            gpu_memory_total=figures.memory_total,
            gpu_utilization=figures.utilization,
        )
    )
