"""Outbox bounds and figures: the size cap, dropped-event counts, ``failed/`` pruning, status.

* Cap: ``LAKELOOP_OUTBOX_MAX_MB`` (default 256 MiB) over the entries waiting
  and those in ``failed/``. The drainer measures the outbox (``refresh``) and
  sets the ``.full`` flag while it is over the cap; hooks then drop new events
  (except UserPromptSubmit, see ``spool``), each drop adds one byte to
  ``.dropped`` (its size is the count) with a log line, and the first one posts
  a notice the user sees at the next SessionStart (never the model).
* ``failed/`` entries older than ``FAILED_MAX_AGE_S`` (7 days) are deleted.
"""

from __future__ import annotations

import os
import time

from . import FAILED, outbox_dir
from .spool import FULL_FLAG

#: Entries in failed/ older than this (seconds, since they failed) are deleted.
FAILED_MAX_AGE_S = 7 * 24 * 3600
DROPPED = ".dropped"
FULL_NOTICE = ("lakeloop: the local outbox reached its size cap ({mb} MiB, LAKELOOP_OUTBOX_MAX_MB) because the store "
               "has not accepted events for a while, so new events are being dropped (not saved). `lakeloop status` "
               "shows the backlog; `lakeloop doctor` checks the store.")


def _sizes(directory: str) -> tuple[int, int, float | None]:
    """(count, bytes, oldest mtime) of the entry files in ``directory``."""
    count = total = 0
    oldest = None
    try:
        with os.scandir(directory) as it:
            for item in it:
                if item.name.startswith(".") or not item.name.endswith(".json"):
                    continue
                try:
                    st = item.stat()
                except OSError:
                    continue
                count += 1
                total += st.st_size
                oldest = st.st_mtime if oldest is None else min(oldest, st.st_mtime)
    except (FileNotFoundError, NotADirectoryError):
        pass
    return count, total, oldest


def status(now: float | None = None) -> dict:
    """``{pending, oldest_age_s, failed, bytes, dropped, full}``: entries waiting, age of the
    oldest (seconds, None when empty), entries in failed/, bytes of both, events dropped
    because the outbox was full, and whether it is full now."""
    from .entries import scan

    directory = outbox_dir()
    now = time.time() if now is None else now
    entries, _bad = scan(directory)
    _count, waiting_bytes, _ = _sizes(directory)
    failed_count, failed_bytes, _ = _sizes(os.path.join(directory, FAILED))
    oldest = min((e.received_ns for e in entries), default=None)
    try:
        dropped = os.path.getsize(os.path.join(directory, DROPPED))
    except OSError:
        dropped = 0
    return {
        "pending": len(entries),
        "oldest_age_s": None if oldest is None else round(max(0.0, now - oldest / 1e9), 1),
        "failed": failed_count,
        "bytes": waiting_bytes + failed_bytes,
        "dropped": dropped,
        "full": os.path.exists(os.path.join(directory, FULL_FLAG)),
    }


def refresh(max_bytes: int) -> int:
    """Measure the outbox and set or clear the full flag. Returns the bytes used."""
    directory = outbox_dir()
    _, waiting, _ = _sizes(directory)
    _, failed, _ = _sizes(os.path.join(directory, FAILED))
    used = waiting + failed
    flag = os.path.join(directory, FULL_FLAG)
    try:
        if used >= max_bytes:
            if not os.path.exists(flag):
                os.close(os.open(flag, os.O_WRONLY | os.O_CREAT, 0o600))
        elif os.path.exists(flag):
            os.unlink(flag)
    except OSError:
        pass
    return used


def record_drop(event: str, log, max_mb: int) -> int:
    """Count one dropped event (``.dropped`` grows by a byte), log it, and post the user
    notice once. Returns the number of events dropped so far."""
    path = os.path.join(outbox_dir(), DROPPED)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, b".")
        finally:
            os.close(fd)
        dropped = os.path.getsize(path)
    except OSError:
        dropped = -1
    log.error("outbox full (cap %d MiB, LAKELOOP_OUTBOX_MAX_MB): %s event dropped, %d dropped so far",
              max_mb, event, dropped)
    from ..notices import post

    post("outbox-full", FULL_NOTICE.format(mb=max_mb))
    return dropped


def prune_failed(log, now: float | None = None, max_age_s: float = FAILED_MAX_AGE_S) -> int:
    """Delete entries in failed/ whose failure is older than ``max_age_s``. Returns how many."""
    directory = os.path.join(outbox_dir(), FAILED)
    now = time.time() if now is None else now
    pruned = 0
    try:
        with os.scandir(directory) as it:
            for item in it:
                try:
                    if now - item.stat().st_mtime > max_age_s:
                        os.unlink(item.path)
                        pruned += 1
                except OSError:
                    continue
    except (FileNotFoundError, NotADirectoryError):
        return 0
    if pruned:
        log.info("outbox: pruned %d failed entr%s older than %d days", pruned, "y" if pruned == 1 else "ies",
                 max_age_s // 86400)
    return pruned
