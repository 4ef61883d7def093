"""The limiter's shared backend: one set of limits for every process using one database.

Selected with ``TASKGATE_LIMITER=shared`` (``core.app.build_limiter``). It
keeps the contract of ``core.limiter.LimiterBackend`` and builds on
``core.limiter``'s policy and waiting loop; ``core.limiter`` never imports
it, so the in-process limiter never loads SQLAlchemy.
"""

from core.shared_limiter.errors import LeaseLost
from core.shared_limiter.limiter import SharedLimiter

__all__ = ["LeaseLost", "SharedLimiter"]
