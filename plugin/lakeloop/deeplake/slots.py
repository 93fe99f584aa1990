"""Bounding requests in flight: per process (a semaphore) and machine-wide (file locks).

The machine-wide bound is ``size`` lock files ``<data dir>/slots/slot-<i>.lock``:
a request holds one (an exclusive lock on it, ``lakeloop.locks``) while it is in flight,
so however many hook and worker processes run, at most ``size`` requests are
in flight on the machine. A process that dies releases its slot with its file
descriptor. Waiting is bounded by ``wait_s`` (inside a hook's time budget);
past it ``SlotTimeout`` is raised and the caller keeps its work (the capture
outbox retries later). Seed 003: bounded concurrency is what kept 1000
concurrent sessions at ~0.03 % errors.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from pathlib import Path

from ..errors import SlotTimeout
from ..locks import try_lock, unlock

TYPE_CHECKING = False  # typing is not imported at run time (hook start-up time)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

POLL_S = 0.01


class Slots:
    """``with slots.hold(): ...`` holds one per-process and one machine-wide slot.

    ``per_process`` and ``machine`` are the bounds (requests); ``wait_s`` the longest
    wait for both together, in seconds. ``machine <= 0`` disables the machine bound.
    """

    def __init__(
        self,
        directory: Path,
        per_process: int = 5,
        machine: int = 8,
        wait_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.directory = Path(directory)
        self.per_process = max(1, per_process)
        self.machine = machine
        self.wait_s = wait_s
        self._semaphore = threading.BoundedSemaphore(self.per_process)
        self._clock = clock
        self._sleep = sleep

    @contextlib.contextmanager
    def hold(self) -> Iterator[int | None]:
        """Hold a slot for the body; yields the machine slot index (None when unbounded).

        Raises SlotTimeout when none frees up within ``wait_s``.
        """
        deadline = self._clock() + self.wait_s
        if not self._semaphore.acquire(timeout=max(0.0, self.wait_s)):
            raise SlotTimeout(f"no free request slot in this process after {self.wait_s:.1f} s")
        try:
            if self.machine <= 0:
                yield None
                return
            fd, index = self._acquire_machine(deadline)
            try:
                yield index
            finally:
                unlock(fd)
        finally:
            self._semaphore.release()

    def _acquire_machine(self, deadline: float) -> tuple[int, int]:
        """``(descriptor holding the slot's lock, slot index)``. Raises SlotTimeout past ``deadline``."""
        order = list(range(self.machine))
        while True:
            random.shuffle(order)
            for index in order:
                # Each try opens its own descriptor: the lock then excludes other threads of
                # this process as well as other processes.
                fd = try_lock(self.directory / f"slot-{index}.lock")
                if fd is not None:
                    return fd, index
            if self._clock() >= deadline:
                raise SlotTimeout(f"all {self.machine} machine-wide request slots busy for {self.wait_s:.1f} s")
            self._sleep(POLL_S)


def default_slots() -> Slots:
    """Slots under the data dir with the configured bounds
    (``LAKELOOP_DEEPLAKE_MAX_IN_FLIGHT``, ``LAKELOOP_DEEPLAKE_MACHINE_MAX_IN_FLIGHT``,
    ``LAKELOOP_DEEPLAKE_SLOT_WAIT_S``)."""
    from .. import config, paths

    return Slots(
        paths.data_dir() / "slots",
        per_process=config.deeplake_max_in_flight(),
        machine=config.deeplake_machine_max_in_flight(),
        wait_s=config.deeplake_slot_wait_s(),
    )


__all__ = ["Slots", "default_slots"]
