"""The drain lock: one drainer per data dir, a lock on ``outbox/.drain.lock``.

This module only names the lock file; the lock itself is ``lakeloop.locks`` (an ``flock``
the kernel releases when the holder dies, handed to the forked drainer through its
descriptor: see that module). A claim can never outlive its drainer, and a live drainer's
claim is never taken.
"""

from __future__ import annotations

import os

from .. import locks
from ..locks import unlock

LOCK_NAME = ".drain.lock"


def lock_path(directory: str) -> str:
    """The drain lock's file in the outbox ``directory``."""
    return os.path.join(directory, LOCK_NAME)


def try_lock(directory: str) -> int | None:
    """Take the drain lock of the outbox ``directory`` without waiting. Returns the descriptor
    holding it, or None when another process holds it. Raises OSError as ``locks.try_lock``."""
    return locks.try_lock(lock_path(directory))


def wait_lock(directory: str, timeout_s: float, poll_s: float = locks.POLL_S) -> int | None:
    """Take the drain lock, waiting up to ``timeout_s`` seconds. Returns the descriptor or None."""
    return locks.wait_lock(lock_path(directory), timeout_s, poll_s)


def held_by_other(directory: str) -> bool:
    """True when some process holds the drain lock right now (a drainer is running)."""
    return locks.is_held(lock_path(directory))


__all__ = ["LOCK_NAME", "held_by_other", "lock_path", "try_lock", "unlock", "wait_lock"]
