"""The progress callback every task reports to, and which doubles as its cancellation point.

A task calls ``progress(fraction, message)`` at each natural step, with ``fraction`` in
[0, 1], never decreasing, and ending at exactly 1.0. The caller may raise any
``BaseException`` from the callback to abandon the run: tasks never catch around these
calls, so the exception reaches the caller unchanged, and they free device memory in
``finally`` blocks on the way out.
"""

from collections.abc import Callable

Progress = Callable[[float, str], None]
