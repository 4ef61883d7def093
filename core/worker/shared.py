"""The two values a worker process shares with its parent: a stop flag and a fencing deadline.

They live in one page of shared memory (an unlinked temporary file, mapped
by both processes) so that the child's progress callback reads them with
no system call and no message: setting the flag or moving the deadline is
visible to the child at its next progress step, even while its pipe is
busy or its parent is frozen.
"""

from __future__ import annotations

import mmap
import os
import struct
import tempfile

_SIZE = 16
_FLAG = 0
_DEADLINE = 8


class _Flag:
    def __init__(self, memory: mmap.mmap) -> None:
        self._memory = memory

    def set(self) -> None:
        self._memory[_FLAG] = 1

    def clear(self) -> None:
        self._memory[_FLAG] = 0

    def is_set(self) -> bool:
        return self._memory[_FLAG] == 1


class _Deadline:
    """A ``time.monotonic()`` instant (CLOCK_MONOTONIC: one clock for the whole machine)."""

    def __init__(self, memory: mmap.mmap) -> None:
        self._memory = memory

    @property
    def value(self) -> float:
        return struct.unpack_from("d", self._memory, _DEADLINE)[0]

    @value.setter
    def value(self, instant: float) -> None:
        struct.pack_into("d", self._memory, _DEADLINE, instant)


class SharedState:
    """The mapped page and its two views; ``fileno`` is passed to the child."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._memory = mmap.mmap(fd, _SIZE)
        self.stop = _Flag(self._memory)
        self.deadline = _Deadline(self._memory)

    @classmethod
    def create(cls) -> SharedState:
        folder = "/dev/shm" if os.path.isdir("/dev/shm") else None
        fd, path = tempfile.mkstemp(prefix="taskgate-worker-", dir=folder)
        os.unlink(path)  # nothing to clean up: the mapping lives while a process holds it
        os.ftruncate(fd, _SIZE)
        return cls(fd)

    @classmethod
    def attach(cls, fd: int) -> SharedState:
        return cls(fd)

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        try:
            self._memory.close()
        except BufferError:
            pass
        try:
            os.close(self._fd)
        except OSError:
            pass
