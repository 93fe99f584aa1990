"""Starting or waking the job runner: what hooks and enqueuers call. Hook-safe: this module
imports ``os``, ``time``, ``lakeloop.paths``, ``lakeloop.locks`` and ``lakeloop.detach`` only; ``subprocess`` is
imported when a runner is actually started.

* ``ensure_running(log)``: take the runner lock (``paths.jobs_runner_lock``); when it is free, start
  the detached runner (``python -m lakeloop.cli.main jobs run --lock-fd N``) and hand it the held
  descriptor across ``exec``, so there is no moment between "no runner" and "the new runner holds
  the lock"; when it is held, a runner is alive: ``wake`` it. Never raises.
* ``wake()``: one byte into the runner's FIFO (``paths.jobs_wake_fifo``), opened non-blocking:
  no reader (no runner) or a full pipe (already woken) is fine.
* ``kick_if_due(log)``: one ``stat`` of ``jobs/.due`` (its mtime is the queue's next deadline:
  a retry after backoff, a lease that lapses); when it has passed, ``ensure_running``. Hooks call
  it, so a deadline kept on disk brings a runner back after the last one exited.

The runner runs with ``LAKELOOP_WORKER=1`` (``config.WORKER_ENV``: nothing it starts is
captured), in its own session, stdin from /dev/null, stdout and stderr appended to the log
file, no other inherited descriptor (the drain lock of a drainer that enqueues stays out).
"""

from __future__ import annotations

import os
import time

from .. import locks, paths
from ..detach import worker_env

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging


def wake() -> bool:
    """Nudge a live runner through its FIFO. True when one was listening. Never raises."""
    import stat

    try:
        fd = os.open(paths.jobs_wake_fifo(), os.O_WRONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError:  # ENXIO: no reader (no runner); ENOENT: never made; ELOOP: a symlink
        return False
    try:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return False
        os.write(fd, b"\0")
    except BlockingIOError:
        return True  # the pipe is full: the runner has wakes waiting already
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


def start_runner(lock_fd: int) -> int:
    """Start the detached runner holding the runner lock through ``lock_fd`` (passed to it; the
    caller then closes its own copy). Returns its pid. Raises OSError when it cannot start."""
    import subprocess
    import sys

    paths.private_dir(paths.log_dir())
    out = os.open(paths.log_file(), os.O_WRONLY | os.O_CREAT | os.O_APPEND, paths.PRIVATE_FILE_MODE)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lakeloop.cli.main", "jobs", "run", "--lock-fd", str(lock_fd)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            pass_fds=(lock_fd,),
            close_fds=True,
            start_new_session=True,
            env=worker_env(),
            cwd=paths.data_dir_str(),
        )
    finally:
        os.close(out)
    return proc.pid


def ensure_running(log: logging.Logger) -> str:
    """Make sure a job runner runs: ``"started"`` (none ran: one was started), ``"woken"`` (one
    runs: its FIFO was written) or ``"failed"`` (logged). Never raises."""
    try:
        fd = locks.try_lock(paths.jobs_runner_lock())
    except Exception as exc:
        log.warning("jobs: runner lock unusable, no runner started: %s", exc)
        return "failed"
    if fd is None:
        wake()
        return "woken"
    try:
        pid = start_runner(fd)
    except Exception as exc:
        log.error("jobs: could not start the job runner: %s", exc)
        return "failed"
    finally:
        locks.unlock(fd)  # the runner holds the lock through its own copy of the descriptor
    log.debug("jobs: runner pid=%d started", pid)
    return "started"


def kick_if_due(log: logging.Logger, now: float | None = None) -> str | None:
    """``ensure_running`` when the queue's next deadline (the mtime of ``jobs/.due``) is at or
    before ``now`` (epoch s, default the clock); one ``stat`` otherwise. Returns what
    ``ensure_running`` returned, or None when nothing is due. Never raises."""
    try:
        due = os.stat(paths.jobs_due_file()).st_mtime
    except OSError:
        return None
    if due > (time.time() if now is None else now):
        return None
    try:
        return ensure_running(log)
    except Exception:  # ensure_running never raises; a broken logger must not either
        return "failed"
