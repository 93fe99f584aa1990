"""The per-skill worker lease: one improver per skill on a machine.

A lease file ``<locks>/<key>.lease`` holds ``{pid, host, acquired_at}``.
Taking or releasing it happens under a short guard lock (``lakeloop.locks.hold``
on ``<key>.guard``), so two workers can never both win. A lease older than
``STALE_AFTER_S`` (10 minutes, docs/skill-loop.md; far above the worker's ~45 s
invocation poll, seed 000) is stale and taken over, and so is one whose holder
process on this host is gone.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

from .. import paths
from ..detach import pid_alive
from ..fsutil import atomic_write, read_json, safe_key
from ..locks import Held, hold

STALE_AFTER_S = 600.0
GUARD_TIMEOUT_S = 5.0


class SkillLease:
    """``with SkillLease(ref) as lease: if lease.acquired: ...``

    ``clock`` returns seconds since the epoch (injectable for tests).
    ``taken_over`` tells whether a stale lease was replaced.
    """

    def __init__(self, ref: str, clock: Callable[[], float] = time.time, stale_after_s: float = STALE_AFTER_S):
        key = safe_key(ref)
        self.ref = ref
        self.path: Path = paths.locks_dir() / f"{key}.lease"
        self._guard = paths.locks_dir() / f"{key}.guard"
        self._clock = clock
        self._stale_after = stale_after_s
        self.acquired = False
        self.taken_over = False
        self.holder: dict | None = None

    def _guarded(self) -> Held:
        return hold(self._guard, GUARD_TIMEOUT_S)

    def _stale(self, lease: dict) -> bool:
        try:
            age = self._clock() - float(lease.get("acquired_at", 0))
        except (TypeError, ValueError):
            return True
        if age > self._stale_after:
            return True
        pid = lease.get("pid")
        return lease.get("host") == socket.gethostname() and isinstance(pid, int) and not pid_alive(pid)

    def acquire(self) -> bool:
        """Take the lease unless a live, fresh one exists. Returns ``self.acquired``.
        Raises LockTimeout when the guard stays held for ``GUARD_TIMEOUT_S`` seconds, OSError
        when the lease file cannot be written."""
        with self._guarded():
            current = read_json(self.path) if self.path.exists() else None
            if isinstance(current, dict) and not self._stale(current):
                self.holder = current
                return False
            self.taken_over = current is not None
            self.holder = current
            mine = {"pid": os.getpid(), "host": socket.gethostname(), "acquired_at": self._clock(), "ref": self.ref}
            atomic_write(self.path, json.dumps(mine))
            self.acquired = True
            return True

    def release(self) -> None:
        """Remove the lease if it is still ours."""
        if not self.acquired:
            return
        with self._guarded():
            current = read_json(self.path)
            if (
                isinstance(current, dict)
                and current.get("pid") == os.getpid()
                and current.get("host") == socket.gethostname()
            ):
                self.path.unlink(missing_ok=True)
        self.acquired = False

    def __enter__(self) -> SkillLease:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
