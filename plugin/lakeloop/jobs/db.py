"""The job queue's local database: ``<data dir>/jobs/queue.db`` (``paths.jobs_db``), never the
team store.

* ``connect(path=None, timeout_s=2.0, check=False)`` opens it (creating the file 0600 in a 0700
  directory, and the schema), in WAL mode with a busy timeout, in autocommit mode: every write is
  one ``with write(conn):`` transaction (``BEGIN IMMEDIATE``, so two writers queue on SQLite's
  lock instead of failing half-way). Other local tables (the summaries' state) may live in the
  same file: their owners create them through this connection.
* A file SQLite calls corrupt (``SQLITE_CORRUPT``, ``SQLITE_NOTADB``, or a failed
  ``PRAGMA quick_check`` when ``check`` is set, as the job runner does once at its start) is set
  aside as ``queue.db.corrupt-<epoch s>`` (with its ``-wal`` and ``-shm``) and an empty queue is
  started in its place, with one error log line and a user notice (``notices.post_event``).
  Jobs queued in it are lost; nothing else is. Their deadline goes too: ``.due`` is removed
  while the new queue holds nothing queued or running.
* ``due_file(where)``: the ``.due`` file next to the database ``where`` (``jobs.queue.sync_due``
  keeps the queue's next deadline as its mtime).

Errors: ``JobsUnavailable`` when the file cannot be opened or written (permissions, disk full,
still locked after the busy timeout).
"""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import contextmanager

from .. import paths
from .base import JobsUnavailable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

#: ``PRAGMA user_version`` of the schema below.
SCHEMA_VERSION = 1

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS jobs (
      id          INTEGER PRIMARY KEY AUTOINCREMENT,
      kind        TEXT    NOT NULL,
      key         TEXT    NOT NULL,
      payload     TEXT    NOT NULL,
      state       TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
      attempts    INTEGER NOT NULL DEFAULT 0,
      next_run_at REAL    NOT NULL,
      lease_until REAL,
      lease_owner TEXT    NOT NULL DEFAULT '',
      rerun       INTEGER NOT NULL DEFAULT 0,
      last_error  TEXT    NOT NULL DEFAULT '',
      outcome     TEXT    NOT NULL DEFAULT '',
      created_at  REAL    NOT NULL,
      updated_at  REAL    NOT NULL,
      finished_at REAL
    )""",
    "CREATE UNIQUE INDEX IF NOT EXISTS jobs_kind_key ON jobs (kind, key)",
    "CREATE INDEX IF NOT EXISTS jobs_due ON jobs (state, next_run_at)",
    "CREATE INDEX IF NOT EXISTS jobs_lease ON jobs (state, lease_until)",
    f"PRAGMA user_version = {SCHEMA_VERSION}",
)


class Connection(sqlite3.Connection):
    """A ``sqlite3.Connection`` that knows its database file (``path``, a str), so the queue
    writes the ``.due`` file next to it."""

    path: str = ""


def connect(path: str | os.PathLike | None = None, timeout_s: float = 2.0, check: bool = False) -> Connection:
    """Open the queue database at ``path`` (default ``paths.jobs_db()``), creating it and its
    schema when missing. ``timeout_s``: how long a write waits for another writer's lock
    (seconds). ``check``: run ``PRAGMA quick_check`` first (the runner, once per start). A
    corrupt file is set aside and replaced (module docstring). Raises JobsUnavailable."""
    where = paths.jobs_db() if path is None else os.fspath(path)
    try:
        seen = _prepare(where)
        conn = _open(where, timeout_s)
        if not check or _quick_check_ok(conn):
            return conn
        conn.close()
    except sqlite3.DatabaseError as exc:
        if not _corrupt(exc):
            raise _unavailable(where, exc) from exc
    except OSError as exc:
        raise _unavailable(where, exc) from exc
    try:
        set_aside(where, seen)
        _prepare(where)
        conn = _open(where, timeout_s)
    except (sqlite3.Error, OSError) as exc:
        raise _unavailable(where, exc) from exc
    try:
        _drop_stale_deadline(conn)
    except JobsUnavailable:  # busy: the runner's re-sync at its start does it
        pass
    return conn


def due_file(where: str) -> str:
    """The ``.due`` file next to the queue database ``where`` (a path)."""
    return os.path.join(os.path.dirname(where) or ".", ".due")


def _drop_stale_deadline(conn: Connection) -> None:
    """Remove ``.due`` when the queue holds nothing queued or running (a fresh queue after a
    set-aside): in a write transaction, so a writer that queued a job first keeps its deadline."""
    with write(conn):
        if conn.execute("SELECT 1 FROM jobs WHERE state IN ('queued', 'running') LIMIT 1").fetchone() is None:
            try:
                os.unlink(due_file(conn.path))
            except OSError:
                pass


def _unavailable(where: str, exc: BaseException) -> JobsUnavailable:
    return JobsUnavailable(f"the job queue {where} cannot be used: {exc}")


def _prepare(where: str) -> os.stat_result:
    """Create the directory (0700) and the file (0600) so SQLite never makes them with other
    modes; returns the file's stat (to recognise it when setting it aside)."""
    paths.private_dir(os.path.dirname(where) or ".")
    fd = os.open(where, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, paths.PRIVATE_FILE_MODE)
    try:
        return os.fstat(fd)
    finally:
        os.close(fd)


def _quick_check_ok(conn: sqlite3.Connection) -> bool:
    answer = conn.execute("PRAGMA quick_check").fetchone()
    return bool(answer) and answer[0] == "ok"


def _open(where: str, timeout_s: float) -> Connection:
    conn = sqlite3.connect(where, timeout=timeout_s, isolation_level=None, factory=Connection)
    conn.path = where
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
        if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
            with write(conn):
                for statement in _SCHEMA:
                    conn.execute(statement)
    except BaseException:
        conn.close()
        raise
    return conn


def _corrupt(exc: sqlite3.DatabaseError) -> bool:
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    return name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB"))


def set_aside(where: str, seen: os.stat_result) -> str | None:
    """Rename the corrupt database ``where`` (the file ``seen`` describes) and its ``-wal`` and
    ``-shm`` to ``<name>.corrupt-<epoch s>``; log one error line and post a user notice. Under a
    lock, and only while ``where`` is still that file, so two processes that found it corrupt
    never set aside the fresh queue one of them started. Returns the new name, or None when
    another process did it first. Raises OSError when the lock cannot be taken."""
    from .. import locks, notices
    from ..log import setup

    with locks.hold(os.path.join(os.path.dirname(where) or ".", ".setaside.lock"), timeout_s=5.0):
        try:
            if not os.path.samestat(os.lstat(where), seen):
                return None
        except FileNotFoundError:
            return None
        target = f"{where}.corrupt-{int(time.time())}"
        os.replace(where, target)
        for suffix in ("-wal", "-shm"):
            try:
                os.replace(where + suffix, target + suffix)
            except FileNotFoundError:
                pass
    setup("jobs").error("job queue %s was corrupt: set aside as %s, a new empty queue started", where, target)
    notices.post_event(
        f"lakeloop's local job queue was unreadable and was set aside as {target}; "
        "background jobs queued in it (summaries, skill improvements) were dropped."
    )
    return target


@contextmanager
def write(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``with write(conn): ...``: one ``BEGIN IMMEDIATE`` transaction, committed when the body
    ends, rolled back when it raises. An SQLite error (also a lock still held after the busy
    timeout) becomes JobsUnavailable; other exceptions propagate after the rollback."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise JobsUnavailable(f"the job queue cannot be written: {exc}") from exc
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException as exc:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        if isinstance(exc, sqlite3.Error):
            raise JobsUnavailable(f"the job queue cannot be written: {exc}") from exc
        raise


@contextmanager
def reading(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``with reading(conn): ...``: an SQLite error in the body becomes JobsUnavailable."""
    try:
        yield conn
    except sqlite3.Error as exc:
        raise JobsUnavailable(f"the job queue cannot be read: {exc}") from exc
