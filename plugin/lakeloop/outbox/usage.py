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
FULL_NOTICE = (
    "lakeloop: the local outbox reached its size cap ({mb} MiB, LAKELOOP_OUTBOX_MAX_MB) because the store "
    "has not accepted events for a while, so new events are being dropped (not saved). `lakeloop status` "
    "shows the backlog; `lakeloop doctor` checks the store."
)


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
    log.error(
        "outbox full (cap %d MiB, LAKELOOP_OUTBOX_MAX_MB): %s event dropped, %d dropped so far", max_mb, event, dropped
    )
    from ..notices import post

    post("outbox-full", FULL_NOTICE.format(mb=max_mb))
    return dropped


#: A hook's temp file (``.<stem>.tmp``) older than this (seconds) was left by a killed hook.
STALE_TMP_S = 3600
#: Hooks re-measure the outbox at most this often (seconds) while no drainer runs.
HOOK_REFRESH_EVERY_S = 5.0
REFRESHED = ".refreshed"


#: A spooled entry at least this large (bytes) makes the hook re-measure at once.
BIG_ENTRY_BYTES = 64 * 1024


def maybe_refresh(max_bytes: int, spooled_bytes: int = 0, every_s: float = HOOK_REFRESH_EVERY_S) -> None:
    """``refresh`` from a capture hook while no drainer runs (the store is pausing), so the cap
    holds even when nothing drains: after a large entry (``BIG_ENTRY_BYTES``), else at most once
    per ``every_s`` seconds across all hooks (a stamp file's mtime). The overshoot is bounded by
    the small events of ``every_s`` seconds."""
    stamp = os.path.join(outbox_dir(), REFRESHED)
    now = time.time()
    try:
        if spooled_bytes < BIG_ENTRY_BYTES and now - os.stat(stamp).st_mtime < every_s:
            return
    except OSError:
        pass
    try:
        os.close(os.open(stamp, os.O_WRONLY | os.O_CREAT, 0o600))
        os.utime(stamp, (now, now))
    except OSError:
        return
    refresh(max_bytes)


def prune_failed(log, now: float | None = None, max_age_s: float = FAILED_MAX_AGE_S) -> int:
    """Delete entries in failed/ whose failure is older than ``max_age_s`` (a stray directory
    there too), and hooks' temp files older than ``STALE_TMP_S`` in the outbox. Returns how
    many failed entries were deleted."""
    import shutil

    directory = os.path.join(outbox_dir(), FAILED)
    now = time.time() if now is None else now
    pruned = 0
    try:
        with os.scandir(outbox_dir()) as it:
            for item in it:
                if item.name.startswith(".") and item.name.endswith(".tmp"):
                    try:
                        if now - item.stat(follow_symlinks=False).st_mtime > STALE_TMP_S:
                            os.unlink(item.path)
                    except OSError:
                        continue
    except (FileNotFoundError, NotADirectoryError):
        pass
    try:
        with os.scandir(directory) as it:
            for item in it:
                try:
                    if now - item.stat(follow_symlinks=False).st_mtime > max_age_s:
                        if item.is_dir(follow_symlinks=False):
                            shutil.rmtree(item.path, ignore_errors=True)
                        else:
                            os.unlink(item.path)
                        pruned += 1
                except OSError:
                    continue
    except (FileNotFoundError, NotADirectoryError):
        return 0
    if pruned:
        log.info(
            "outbox: pruned %d failed entr%s older than %d days",
            pruned,
            "y" if pruned == 1 else "ies",
            max_age_s // 86400,
        )
    return pruned
