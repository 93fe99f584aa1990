"""The drain lock: one drainer per data dir, an ``flock`` on ``outbox/.drain.lock``.

Raw ``fcntl.flock`` rather than ``filelock``: the hook takes the lock and then
forks the drainer, which inherits the locked file description, so there is no
moment between "no drainer runs" and "the new drainer holds the lock" in which
a second hook could start another one (``filelock`` has no API for handing a
held lock to a forked child; it uses the same ``flock`` underneath, so the two
interoperate). The kernel releases the lock when the holder's last descriptor
closes, including when it dies: a claim can never outlive its drainer, and a
live drainer's claim is never taken.
"""

from __future__ import annotations

import os
import time

LOCK_NAME = ".drain.lock"


def try_lock(directory: str) -> int | None:
    """Take the drain lock without waiting. Returns the descriptor holding it, or None
    when another process holds it. Raises OSError when the lock file cannot be opened."""
    import fcntl

    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd = os.open(os.path.join(directory, LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def wait_lock(directory: str, timeout_s: float, poll_s: float = 0.05) -> int | None:
    """Take the drain lock, waiting up to ``timeout_s`` seconds. Returns the descriptor or None."""
    deadline = time.monotonic() + timeout_s
    while True:
        fd = try_lock(directory)
        if fd is not None or time.monotonic() >= deadline:
            return fd
        time.sleep(poll_s)


def held_by_other(directory: str) -> bool:
    """True when some process holds the drain lock right now (a drainer is running)."""
    fd = try_lock(directory)
    if fd is None:
        return True
    unlock(fd)
    return False


def unlock(fd: int) -> None:
    """Release the lock held by ``fd`` (closing it)."""
    try:
        os.close(fd)
    except OSError:
        pass
