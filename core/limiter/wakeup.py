"""The signal a release sends to exactly one waiting thread."""

from __future__ import annotations

from threading import Lock


class Wakeup:
    """A one-shot signal: set once by the limiter, waited on by one thread.

    It is a bare lock, held from birth and released to signal: the mechanism
    ``threading.Condition`` uses inside, without the Condition and extra
    lock an ``Event`` adds around it. A hand-off is a thread switch, so
    every step on it counts: this roughly halves the throughput the
    limiter's strict FIFO costs against a bare semaphore (see
    bench/limiter_bench.py). ``set`` must be called at most once, which the
    limiter guarantees: a waiter leaves the queue when it is signalled.
    """

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = Lock()
        self._lock.acquire()

    def set(self) -> None:
        self._lock.release()

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds; True once the signal was set."""
        if self._lock.acquire(timeout=timeout):
            self._lock.release()
            return True
        return False
