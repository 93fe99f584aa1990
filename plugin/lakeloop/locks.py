"""Every file lock lakeloop takes: an exclusive ``flock`` on a lock file, one mechanism for all.

What takes which lock:

* the drain lock (``outbox/.drain.lock``, named by ``lakeloop.outbox.lock``): a capture hook
  takes it with ``try_lock`` and forks the drainer, which inherits the locked descriptor, so
  there is no moment between "no drainer runs" and "the new drainer holds it" in which a
  second hook could start another drainer; ``wait_lock`` for an in-process drain, ``is_held``;
* the job runner's lock (``jobs/.runner.lock``, named by ``lakeloop.paths.jobs_runner_lock``): an
  enqueuer (``jobs.wake.ensure_running``) takes it with ``try_lock`` and starts the runner process
  with the locked descriptor passed across ``exec``; the runner checks it with ``holds`` before
  trusting it, releases it when idle, looks at the queue once more and takes it again
  (``try_lock``) when a job arrived meanwhile, as the drainer does with the drain lock;
* the machine-wide request slots (``lakeloop.deeplake.slots``): ``try_lock`` on each slot file;
* short critical sections: a judgment window's read-modify-write (``skillopt.pending``, in the
  PreToolUse hook and the drainer), the skill lease's guard (``skillopt.lease``), the pull of
  team skills (``skillopt.pull``): ``with hold(path, timeout_s): ...``.

Why ``fcntl.flock`` for all of them and not the ``filelock`` library: hooks must start fast and
``import filelock`` (4.3.2, Python 3.11) costs 70-90 ms, ``import fcntl`` under 1 ms
(``python -X importtime -c 'import filelock'``); filelock has no way to hand a held lock to a
forked child, which the drain lock needs; and on POSIX filelock itself is a poll loop around
the same ``flock(LOCK_EX | LOCK_NB)``, so a lock taken by an older lakeloop through filelock
and one taken here exclude each other on the same file. What filelock adds beyond that
(Windows, a fallback for filesystems without ``flock``) lakeloop has no use for: it needs
``fork`` and ``flock`` anyway (POSIX only).

Semantics, for every function here:

* A lock is held through an open file description. Each ``try_lock``, ``wait_lock`` and
  ``hold`` opens its own descriptor, so two threads of one process exclude each other as two
  processes do. Locks are not re-entrant: taking a lock this process already holds waits for
  it like any other taker (and times out).
* The kernel releases a lock when the last descriptor sharing it is closed, including when
  the holder dies (SIGKILL, crash, ``os._exit``): a lock never outlives its holder and there
  is nothing stale to clean up. A child forked while a lock is held shares it until both have
  closed their copies (the drain lock relies on that).
* Lock files are created mode 0600 (their directory 0700 when missing), never opened through
  a symlink, and left in place on release, so every taker locks the same inode. A taker that
  wins the lock on a file that has meanwhile been removed or replaced lets go and locks the
  file now at the path (``REOPEN_TRIES`` times at most, then OSError), so it never holds a
  lock nobody else can see.
* Times are in seconds on the monotonic clock; ``flock`` cannot wait with a timeout, so
  waiting polls every ``poll_s`` seconds until the deadline.
* Errors: ``OSError`` when the lock file cannot be opened or locked for another reason than
  another holder (permissions, a symlink in its place, a filesystem without ``flock``);
  ``hold`` raises ``LockTimeout`` when the lock stays held past its wait.

This module sits at the bottom of the package: it imports the standard library and
``lakeloop.errors`` only, and runs in hook processes (the capture hooks take the drain lock on
every event).
"""

from __future__ import annotations

import fcntl
import os
import time

from .errors import LakeloopError

TYPE_CHECKING = False  # typing is not imported at run time (hook start-up time)
if TYPE_CHECKING:
    StrPath = str | os.PathLike[str]

#: Default interval between two attempts while waiting for a lock, seconds.
POLL_S = 0.05
#: Attempts of one ``try_lock`` when the file it locked was removed or replaced meanwhile.
REOPEN_TRIES = 3


class LockTimeout(LakeloopError, TimeoutError):
    """A lock stayed held by another holder for the whole wait.

    ``path`` is the lock file, ``timeout_s`` the wait in seconds. It is also a ``TimeoutError``
    (so an ``OSError``): callers that catch ``OSError`` around a locked section catch it too."""

    def __init__(self, path: str, timeout_s: float) -> None:
        self.path = path
        self.timeout_s = timeout_s
        super().__init__(f"lock {path} still held by another process after {timeout_s:.1f} s")


def _open(path: str) -> int:
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW
    try:
        return os.open(path, flags, 0o600)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
        return os.open(path, flags, 0o600)


def try_lock(path: StrPath) -> int | None:
    """Take the exclusive lock on the file ``path`` (created if missing) without waiting.

    Returns the descriptor holding it (give it to ``unlock``; a forked child inheriting it
    holds the lock too), or None when another holder has it. Raises OSError when the file
    cannot be opened or locked for another reason (also when it was removed or replaced
    while being locked ``REOPEN_TRIES`` times in a row)."""
    path = os.fspath(path)
    for _ in range(REOPEN_TRIES):
        fd = _open(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        try:
            if os.path.samestat(os.fstat(fd), os.lstat(path)):
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # the file was removed or replaced meanwhile: lock the one at the path now
    raise OSError(f"lock file {path} was removed or replaced while being locked, {REOPEN_TRIES} times")


def wait_lock(path: StrPath, timeout_s: float, poll_s: float = POLL_S) -> int | None:
    """``try_lock``, trying again every ``poll_s`` seconds for up to ``timeout_s`` seconds
    (0: one attempt). Returns the descriptor holding the lock, or None when it stayed held.
    Raises OSError as ``try_lock`` does."""
    deadline = time.monotonic() + max(0.0, timeout_s)
    while True:
        fd = try_lock(path)
        if fd is not None:
            return fd
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        time.sleep(min(poll_s, left))


def unlock(fd: int) -> None:
    """Release the lock held through ``fd`` by closing it (copies held by forked children keep
    it until they close theirs). Never raises."""
    try:
        os.close(fd)
    except OSError:
        pass


def holds(fd: int, path: StrPath) -> bool:
    """True when descriptor ``fd`` (e.g. inherited across ``exec``) is open on the lock file now
    at ``path`` and holds its lock (taking it when nobody did): re-taking an ``flock`` through the
    open file description that holds it succeeds at once, while a lock held by another holder
    refuses it. Never raises."""
    try:
        if not os.path.samestat(os.fstat(fd), os.lstat(os.fspath(path))):
            return False
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def is_held(path: StrPath) -> bool:
    """True when some holder has the lock on ``path`` right now (tested by taking it and
    letting go at once). Raises OSError as ``try_lock`` does."""
    fd = try_lock(path)
    if fd is None:
        return True
    unlock(fd)
    return False


class Held:
    """The context manager ``hold`` returns: ``__enter__`` waits for the lock and returns its
    descriptor, ``__exit__`` releases it."""

    def __init__(self, path: StrPath, timeout_s: float, poll_s: float = POLL_S) -> None:
        self.path = os.fspath(path)
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        self._fd: int | None = None

    def __enter__(self) -> int:
        fd = wait_lock(self.path, self.timeout_s, self.poll_s)
        if fd is None:
            raise LockTimeout(self.path, self.timeout_s)
        self._fd = fd
        return fd

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            unlock(self._fd)
            self._fd = None


def hold(path: StrPath, timeout_s: float, poll_s: float = POLL_S) -> Held:
    """``with hold(path, timeout_s=2.0): ...`` runs the body holding the lock on ``path``,
    waiting up to ``timeout_s`` seconds for it. Raises LockTimeout when it stays held that
    long, OSError as ``try_lock`` does."""
    return Held(path, timeout_s, poll_s)


__all__ = ["POLL_S", "Held", "LockTimeout", "hold", "holds", "is_held", "try_lock", "unlock", "wait_lock"]
