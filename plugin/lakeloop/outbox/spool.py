"""The hook side of the outbox: spool one event, start a drainer only when none runs.

Standard library only (``hooks/bootstrap.py`` spools with the system python3
before the plugin's virtualenv exists) and import-light (every capture hook).
"""

from __future__ import annotations

import os
import time

from . import outbox_dir

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (hook start-up time)
if TYPE_CHECKING:
    from typing import Callable

#: Flag file: present while the outbox is over its size cap (``usage.refresh`` sets it).
FULL_FLAG = ".full"
#: Flag file whose mtime is the earliest time (epoch seconds) a new drainer should try the
#: store again after the last one gave up on it; UserPromptSubmit still starts one (reactions).
RETRY_AFTER = ".retry-after"
#: Events that are spooled even when the outbox is full: prompts are small and their
#: reactions need the entry.
ALWAYS_SPOOLED = ("UserPromptSubmit",)


class OutboxFull(OSError):
    """The outbox is over its size cap (``LAKELOOP_OUTBOX_MAX_MB``): the event was not spooled."""


def put_raw(event: str, data: bytes, received_at_ns: int | None = None) -> str:
    """Spool one event's raw payload bytes atomically (temp file + rename, mode 0600).

    Returns the entry's path. Raises OutboxFull when the outbox is over its cap (except
    for ``ALWAYS_SPOOLED`` events) and OSError when it cannot be written.
    """
    directory = outbox_dir()
    if event not in ALWAYS_SPOOLED and os.path.exists(os.path.join(directory, FULL_FLAG)):
        raise OutboxFull(f"outbox over its size cap: {event} event not spooled")
    from .. import paths

    paths.private_dir(os.path.dirname(directory))  # the data dir: 0700 (issue 7)
    paths.private_dir(directory)
    now = received_at_ns or time.time_ns()
    name = f"{now:020d}-{os.getpid()}-{os.urandom(4).hex()}-{event}"
    tmp = os.path.join(directory, f".{name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:  # no fsync: durable across process crashes and kills, the case hooks face
            view = view[os.write(fd, view):]
    except BaseException:
        os.close(fd)
        try:
            os.unlink(tmp)  # e.g. disk full: leave no partial file behind
        except OSError:
            pass
        raise
    os.close(fd)
    final = os.path.join(directory, f"{name}.json")
    os.replace(tmp, final)
    return final


def store_paused() -> bool:
    """True while the last drainer's give-up on the store is recent (``RETRY_AFTER``)."""
    try:
        return os.stat(os.path.join(outbox_dir(), RETRY_AFTER)).st_mtime > time.time()
    except OSError:
        return False


def start_drainer(run: Callable[[int], object], component: str = "drain") -> str:
    """Start a detached drainer unless one runs. ``run(lock_fd)`` is the drainer body,
    called in the child with the drain lock held through ``lock_fd``.

    Returns ``"started"``, ``"running"`` (another process holds the lock: it sees the
    new entry) or ``"inline"`` (this platform cannot fork: the caller should drain
    itself). Raises OSError when the lock file cannot be opened.
    """
    from .lock import try_lock, unlock

    fd = try_lock(outbox_dir())
    if fd is None:
        return "running"
    if not hasattr(os, "fork"):
        unlock(fd)
        return "inline"
    from ..detach import fork_detached

    try:
        fork_detached(lambda: run(fd), component)
    finally:
        unlock(fd)  # the child holds the lock through its own copy of the descriptor
    return "started"
