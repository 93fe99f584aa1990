"""This machine's own state for the dashboard, read without writing anything: the job queue and
the summaries' ledger (``paths.jobs_db()``, opened with SQLite's ``mode=ro`` and ``query_only``:
never created, migrated or locked for writing) and the outbox (``outbox.usage.status``: a
directory scan). Every function here blocks on the file system; pages call them through
``asyncio.to_thread`` so the event loop never waits on a disk or a lock.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

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
    from ..textsafe import escape_line

    def text(value: Any, limit: int) -> str:  # any stored type (a BLOB too) as one escaped line
        line = escape_line(value if isinstance(value, str) else "" if value is None else repr(value))
        return line if len(line) <= limit else line[: limit - 1] + "…"

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


def overview_state(now: float | None = None) -> dict[str, Any]:
    """The overview's local sections: ``{"jobs": {"exists": bool, "counts": {state: n},
    "failed": [job dicts, at most FAILED_SHOWN], "error": str | None}, "summaries": {"today",
    "chars_sent", "failed"} (ints; with "error" when unreadable), "outbox":
    outbox.usage.status()}``. ``now``: epoch seconds (default now). Never raises: an unreadable
    jobs database is its one-line ``error``."""
    from ..outbox.usage import status as outbox_status
    from ..summaries.state import day_stats
    from ..textsafe import escape_line

    jobs: dict[str, Any] = {"exists": False, "counts": {}, "failed": [], "error": None}
    summaries: dict[str, Any] = {"today": 0, "chars_sent": 0, "failed": 0}
    when = time.time() if now is None else now
    conn = None
    try:
        conn = _connect()
        if conn is not None:
            jobs["counts"] = dict(conn.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall())
            failed = conn.execute(
                f"SELECT {_JOB_COLUMNS} FROM jobs WHERE state = 'failed' ORDER BY updated_at DESC LIMIT ?",
                (FAILED_SHOWN,),
            ).fetchall()
            jobs["failed"] = [_job(r) for r in failed]
            jobs["exists"] = True
            try:
                summaries.update(day_stats(conn, when))
            except sqlite3.OperationalError as exc:  # no summary ever ran here: no ledger table
                if "no such table" not in str(exc):
                    raise
    except sqlite3.Error as exc:
        jobs["error"] = summaries["error"] = escape_line(str(exc))
    finally:
        if conn is not None:
            conn.close()
    return {"jobs": jobs, "summaries": summaries, "outbox": outbox_status()}


def job_list(state: str) -> dict[str, Any]:
    """The jobs page: ``{"exists": bool, "counts": {state: n}, "jobs": [job dicts of ``state``,
    the JOBS_SHOWN most recently updated], "error": str | None}`` (job dict: ``id, kind, key,
    state, attempts, next_run_at, lease_until, updated_at`` (epoch seconds or None) and
    ``error``, one escaped line). ``state`` must be one of STATES (else ValueError). Never raises
    otherwise."""
    from ..textsafe import escape_line

    if state not in STATES:
        raise ValueError(f"unknown job state: {state!r}")
    out: dict[str, Any] = {"exists": False, "counts": {}, "jobs": [], "error": None}
    conn = None
    try:
        conn = _connect()
        if conn is not None:
            out["counts"] = dict(conn.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall())
            rows = conn.execute(
                f"SELECT {_JOB_COLUMNS} FROM jobs WHERE state = ? ORDER BY updated_at DESC LIMIT ?",
                (state, JOBS_SHOWN),
            ).fetchall()
            out["jobs"] = [_job(r) for r in rows]
            out["exists"] = True
    except sqlite3.Error as exc:
        out["error"] = escape_line(str(exc))
    finally:
        if conn is not None:
            conn.close()
    return out
