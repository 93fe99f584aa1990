"""This machine's own state for the dashboard, read without writing anything: the job queue and
the summaries' ledger (``paths.jobs_db()``, opened with SQLite's ``mode=ro`` and ``query_only``:
never created, migrated or locked for writing) and the outbox (``outbox.usage.status``: a
directory scan). Every function here blocks on the file system; pages call them through
``asyncio.to_thread`` so the event loop never waits on a disk or a lock.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

#: How many failed jobs the overview lists.
FAILED_SHOWN = 5
#: How many jobs the jobs page lists (the most recently updated first).
JOBS_SHOWN = 100
#: The states a job can be in (``jobs.db``'s CHECK constraint), in the order pages show them.
STATES = ("queued", "running", "failed", "done")
#: Longest wait for a writer's lock on the jobs database, seconds.
BUSY_TIMEOUT_S = 1.0
#: Characters shown of a job's last error.
ERROR_CHARS = 300
#: Characters shown of a job's kind and key.
NAME_CHARS = 200


def _connect() -> sqlite3.Connection | None:
    """A read-only connection to the jobs database (``store.embedded.read_only_sqlite``: a regular
    file only); None when it does not exist. Raises sqlite3.Error when it exists and cannot be
    opened."""
    from pathlib import Path

    from .. import paths
    from ..store.embedded import read_only_sqlite

    try:
        return read_only_sqlite(Path(paths.jobs_db()), BUSY_TIMEOUT_S)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise sqlite3.OperationalError(str(exc)) from exc


def _job(row: tuple[Any, ...]) -> dict[str, Any]:
    from ..textsafe import cut, escape_line

    def text(value: Any, limit: int) -> str:  # any stored type (a BLOB too) as one escaped line
        return cut(escape_line(value if isinstance(value, str) else "" if value is None else repr(value)), limit)

    jid, kind, key, state, attempts, next_run_at, lease_until, error, updated_at = row
    return {
        "id": jid,
        "kind": text(kind, NAME_CHARS),
        "key": text(key, NAME_CHARS),
        "state": state,
        "attempts": attempts,
        "next_run_at": next_run_at,
        "lease_until": lease_until,
        "error": text(error, ERROR_CHARS),
        "updated_at": updated_at,
    }


_JOB_COLUMNS = "id, kind, key, state, attempts, next_run_at, lease_until, last_error, updated_at"


def _jobs_in(conn: sqlite3.Connection, state: str, limit: int) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """``({state: count} of every job, the ``limit`` most recently updated jobs in ``state``)``."""
    counts = dict(conn.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall())
    rows = conn.execute(
        f"SELECT {_JOB_COLUMNS} FROM jobs WHERE state = ? ORDER BY updated_at DESC LIMIT ?", (state, limit)
    ).fetchall()
    return counts, [_job(r) for r in rows]


def _reading(read: Callable[[sqlite3.Connection], T]) -> tuple[T | None, str | None]:
    """``(read(connection), None)`` on a read-only connection to the jobs database (closed after);
    ``(None, None)`` when it does not exist; ``(None, one escaped line)`` when it cannot be read."""
    from ..textsafe import escape_line

    conn = None
    try:
        conn = _connect()
        return (None if conn is None else read(conn)), None
    except sqlite3.Error as exc:
        return None, escape_line(str(exc))
    finally:
        if conn is not None:
            conn.close()


def overview_state(now: float | None = None) -> dict[str, Any]:
    """The overview's local sections: ``{"jobs": {"exists": bool, "counts": {state: n},
    "failed": [job dicts, at most FAILED_SHOWN], "error": str | None}, "summaries": {"today",
    "chars_sent", "failed"} (ints; with "error" when unreadable), "outbox":
    outbox.usage.status()}``. ``now``: epoch seconds (default now). Never raises: an unreadable
    jobs database is its one-line ``error``."""
    from ..outbox.usage import status as outbox_status
    from ..summaries.state import day_stats

    when = time.time() if now is None else now

    def read(conn: sqlite3.Connection) -> tuple[dict[str, int], list[dict[str, Any]], dict[str, int]]:
        counts, failed = _jobs_in(conn, "failed", FAILED_SHOWN)
        try:
            return counts, failed, day_stats(conn, when)
        except sqlite3.OperationalError as exc:  # no summary ever ran here: no ledger table
            if "no such table" not in str(exc):
                raise
            return counts, failed, {}

    got, error = _reading(read)
    counts, failed, stats = got if got is not None else ({}, [], {})
    jobs = {"exists": got is not None, "counts": counts, "failed": failed, "error": error}
    summaries: dict[str, Any] = {"today": 0, "chars_sent": 0, "failed": 0, **stats}
    if error is not None:
        summaries["error"] = error
    return {"jobs": jobs, "summaries": summaries, "outbox": outbox_status()}


def job_list(state: str) -> dict[str, Any]:
    """The jobs page: ``{"exists": bool, "counts": {state: n}, "jobs": [job dicts of ``state``,
    the JOBS_SHOWN most recently updated], "error": str | None}`` (job dict: ``id, kind, key,
    state, attempts, next_run_at, lease_until, updated_at`` (epoch seconds or None) and
    ``error``, one escaped line). ``state`` must be one of STATES (else ValueError). Never raises
    otherwise."""
    if state not in STATES:
        raise ValueError(f"unknown job state: {state!r}")
    got, error = _reading(lambda conn: _jobs_in(conn, state, JOBS_SHOWN))
    counts, jobs = got if got is not None else ({}, [])
    return {"exists": got is not None, "counts": counts, "jobs": jobs, "error": error}
