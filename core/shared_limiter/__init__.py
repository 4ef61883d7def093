"""The limiter's shared backend: one set of limits for every process using one database.

Selected with ``TASKGATE_LIMITER=shared``; reached as
``core.limiter.SharedLimiter`` (imported lazily there, so the in-process
limiter never loads SQLAlchemy).
"""

from core.shared_limiter.errors import LeaseLost
from core.shared_limiter.limiter import SharedLimiter

__all__ = ["LeaseLost", "SharedLimiter"]
