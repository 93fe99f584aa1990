"""Local summary state: per-session counters and the daily ledger of summary runs.

Two tables in the local jobs database (``jobs.db.connect()``, never the team store):

* ``summary_sessions``, one row per session id: what the drainer stored of it (``rows_stored``,
  ``prompts``: user prompts, ``since_last``: rows since the last enqueued summary), when a summary
  was last enqueued, and what the last written summary covered: ``through`` (the
  ``(creation_date, id)`` of the last row it read), ``rows_summarized``, ``started`` (the first
  row's date), its memory ``row_id`` and its ``summary`` text (the sections only: a refresh sends
  it to the model instead of reading the store again).
* ``summary_runs``, one row per summary job that called the model: the UTC ``day``, when, which
  session, ``ok``, characters sent and received, the model's wall time, and the reason of a
  failure. It bounds the runs per day (``LAKELOOP_SUMMARY_MAX_PER_DAY``) and feeds
  ``lakeloop status`` (``stats``). Rows older than ``KEEP_DAYS`` are pruned as runs are recorded.

A ``summary_sessions`` row not updated for ``KEEP_SESSION_DAYS`` is pruned when the ``summarize`` job
opens the state (``prune``; never on a hook path). ``lakeloop forget`` removes the rows of the
sessions whose summaries it deleted (``forget_sessions``): the previous summary's text is kept here.

Every write is one ``BEGIN IMMEDIATE`` transaction (``jobs.db.write``). The module imports only the standard library
at load (the SessionEnd hook and the drainer use it).
"""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable, Iterable, Mapping
    from contextlib import AbstractContextManager
    from typing import TypeVar

    T = TypeVar("T")

#: Ledger rows kept, in days.
KEEP_DAYS = 35
#: ``summary_sessions`` rows kept after their last update (a stored row, an enqueue, a summary), in days.
KEEP_SESSION_DAYS = 30

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS summary_sessions ("
    " session_id TEXT PRIMARY KEY,"
    " rows_stored INTEGER NOT NULL DEFAULT 0,"
    " prompts INTEGER NOT NULL DEFAULT 0,"
    " since_last INTEGER NOT NULL DEFAULT 0,"
    " first_seen_at REAL,"
    " last_enqueued_at REAL,"
    " started TEXT NOT NULL DEFAULT '',"
    " through_date TEXT NOT NULL DEFAULT '',"
    " through_id TEXT NOT NULL DEFAULT '',"
    " rows_summarized INTEGER NOT NULL DEFAULT 0,"
    " row_id TEXT NOT NULL DEFAULT '',"
    " summary TEXT NOT NULL DEFAULT '',"
    " updated_at REAL)",
    "CREATE TABLE IF NOT EXISTS summary_runs ("
    " day TEXT NOT NULL, at REAL NOT NULL, session_id TEXT NOT NULL, ok INTEGER NOT NULL,"
    " chars_sent INTEGER NOT NULL, chars_received INTEGER NOT NULL, model_ms INTEGER NOT NULL,"
    " reason TEXT NOT NULL DEFAULT '')",
    "CREATE INDEX IF NOT EXISTS summary_runs_day ON summary_runs (day)",
)


def utc_day(now: float) -> str:
    """``YYYY-MM-DD`` of ``now`` (epoch seconds) in UTC."""
    return time.strftime("%Y-%m-%d", time.gmtime(now))


class Session:
    """One ``summary_sessions`` row (see the module docstring); times are epoch seconds,
    dates ISO-8601 UTC text as the rows carry them."""

    __slots__ = (
        "session_id",
        "rows_stored",
        "prompts",
        "since_last",
        "first_seen_at",
        "last_enqueued_at",
        "started",
        "through_date",
        "through_id",
        "rows_summarized",
        "row_id",
        "summary",
    )
    session_id: str
    rows_stored: int
    prompts: int
    since_last: int
    first_seen_at: float | None
    last_enqueued_at: float | None
    started: str
    through_date: str
    through_id: str
    rows_summarized: int
    row_id: str
    summary: str

    def __init__(self, values: Mapping[str, object]) -> None:
        for name in self.__slots__:
            setattr(self, name, values.get(name))

    @property
    def through(self) -> tuple[str, str] | None:
        """``(creation_date, id)`` of the last row the last written summary covered, or None."""
        return (str(self.through_date), str(self.through_id)) if self.through_date else None


class State:
    """The summary tables on one open connection of the jobs database (autocommit, as
    ``jobs.db.connect`` opens it; every write is one ``jobs.db.write`` transaction).

    ``State(conn)`` creates the tables when missing; ``State.open()`` opens ``jobs.db.connect()``.
    Writes raise ``JobsUnavailable`` (``jobs.db.write``), reads ``sqlite3.Error``."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        with self._write():
            for statement in SCHEMA:
                conn.execute(statement)

    @classmethod
    def open(cls) -> State:
        """The state on a new connection to the local jobs database. Raises JobsUnavailable."""
        import sqlite3

        from ..jobs import JobsUnavailable
        from ..jobs.db import connect

        conn = connect()
        try:
            return cls(conn)
        except (sqlite3.Error, JobsUnavailable) as exc:
            conn.close()
            raise JobsUnavailable(f"summary state unavailable: {exc}") from exc

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        from ..jobs.db import write

        return write(self.conn)

    # counters (the trigger side) ---------------------------------------------------------------
    def add_rows(self, counts: Mapping[str, tuple[int, int]], now: float) -> dict[str, Session]:
        """Count a stored batch: ``counts`` is ``{session id: (rows, user prompts)}``; each session's
        ``rows_stored`` and ``since_last`` grow by its rows, ``prompts`` by its prompts (its row is
        made on first sight, ``first_seen_at = now``). One transaction. Returns the sessions' rows
        after the update."""
        with self._write():
            for sid, (rows, prompts) in counts.items():
                self.conn.execute(
                    "INSERT INTO summary_sessions (session_id, rows_stored, prompts, since_last, first_seen_at, "
                    "updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(session_id) DO UPDATE SET "
                    "rows_stored = rows_stored + excluded.rows_stored, prompts = prompts + excluded.prompts, "
                    "since_last = since_last + excluded.since_last, updated_at = excluded.updated_at",
                    (sid, rows, prompts, rows, now, now),
                )
            return {s.session_id: s for s in self._sessions(counts)}

    def mark_enqueued(self, session_ids: Iterable[str], now: float) -> None:
        """A summary of each of ``session_ids`` was enqueued at ``now``: ``since_last`` starts again."""
        with self._write():
            for sid in session_ids:
                self.conn.execute(
                    "UPDATE summary_sessions SET since_last = 0, last_enqueued_at = ?, updated_at = ? "
                    "WHERE session_id = ?",
                    (now, now, sid),
                )

    def session(self, session_id: str) -> Session | None:
        """The row of ``session_id``, or None."""
        found = self._sessions([session_id])
        return found[0] if found else None

    def _sessions(self, session_ids: Iterable[str]) -> list[Session]:
        ids = list(session_ids)
        if not ids:
            return []
        cursor = self.conn.execute(
            f"SELECT {', '.join(Session.__slots__)} FROM summary_sessions "
            f"WHERE session_id IN ({', '.join('?' for _ in ids)})",
            ids,
        )
        return [Session(dict(zip(Session.__slots__, row))) for row in cursor.fetchall()]

    def forget(self, session_ids: Iterable[str]) -> int:
        """Delete the rows of ``session_ids`` (counters and the previous summary's text); returns
        how many there were. One transaction."""
        ids = list(dict.fromkeys(session_ids))
        if not ids:
            return 0
        with self._write():
            cursor = self.conn.execute(
                f"DELETE FROM summary_sessions WHERE session_id IN ({', '.join('?' for _ in ids)})", ids
            )
            return int(cursor.rowcount)

    def prune(self, now: float) -> int:
        """Delete the rows not updated for ``KEEP_SESSION_DAYS`` before ``now`` (epoch seconds);
        returns how many. One transaction."""
        with self._write():
            cursor = self.conn.execute(
                "DELETE FROM summary_sessions WHERE COALESCE(updated_at, first_seen_at, 0) < ?",
                (now - KEEP_SESSION_DAYS * 86400,),
            )
            return int(cursor.rowcount)

    # the job side --------------------------------------------------------------------------------
    def save_summary(
        self,
        session_id: str,
        *,
        through: tuple[str, str],
        rows: int,
        started: str,
        row_id: str,
        summary: str,
        now: float,
    ) -> None:
        """Record a written summary: it covers the session up to ``through`` (``(creation_date,
        id)``), ``rows`` more rows than the last one, the session started at ``started``; its memory
        row is ``row_id`` and its sections are ``summary``."""
        with self._write():
            self.conn.execute(
                "INSERT INTO summary_sessions (session_id, first_seen_at, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(session_id) DO NOTHING",
                (session_id, now, now),
            )
            self.conn.execute(
                "UPDATE summary_sessions SET through_date = ?, through_id = ?, rows_summarized = rows_summarized + ?,"
                " started = ?, row_id = ?, summary = ?, updated_at = ? WHERE session_id = ?",
                (through[0], through[1], rows, started, row_id, summary, now, session_id),
            )

    def record_run(
        self,
        session_id: str,
        *,
        ok: bool,
        chars_sent: int,
        chars_received: int,
        model_ms: int,
        reason: str,
        now: float,
    ) -> None:
        """One ledger row for a summary job that called the model (``reason``: why it failed, one
        line with no session text; '' when ``ok``); rows older than ``KEEP_DAYS`` are pruned."""
        with self._write():
            self.conn.execute(
                "INSERT INTO summary_runs (day, at, session_id, ok, chars_sent, chars_received, model_ms, reason) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (utc_day(now), now, session_id, int(ok), chars_sent, chars_received, model_ms, reason[:300]),
            )
            self.conn.execute("DELETE FROM summary_runs WHERE at < ?", (now - KEEP_DAYS * 86400,))

    def runs_today(self, now: float) -> int:
        """Summary runs recorded on ``now``'s UTC day."""
        return int(self.conn.execute("SELECT COUNT(*) FROM summary_runs WHERE day = ?", (utc_day(now),)).fetchone()[0])

    def day_stats(self, now: float) -> dict[str, int]:
        """``{"today": runs, "chars_sent": characters, "failed": runs that failed}`` of ``now``'s
        UTC day (``day_stats``)."""
        return day_stats(self.conn, now)


def day_stats(conn: sqlite3.Connection, now: float) -> dict[str, int]:
    """``{"today": runs, "chars_sent": characters, "failed": runs that failed}`` of ``now``'s UTC
    day (epoch seconds), read from the ``summary_runs`` table through ``conn`` (the jobs database;
    a read-only connection is enough). Raises sqlite3.Error (e.g. no such table in a database
    that never ran a summary job)."""
    today, sent, failed = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(chars_sent), 0), COALESCE(SUM(1 - ok), 0) FROM summary_runs WHERE day = ?",
        (utc_day(now),),
    ).fetchone()
    return {"today": int(today), "chars_sent": int(sent), "failed": int(failed)}


def _on_existing_state(call: Callable[[State], T], absent: T) -> T:
    """``call(state)`` on the local summary state, closed after; ``absent`` without opening
    anything when the jobs database does not exist (it is not created here). Raises
    JobsUnavailable when it cannot be opened, read or written."""
    import os
    import sqlite3

    from .. import paths
    from ..jobs import JobsUnavailable

    if not os.path.exists(paths.jobs_db()):
        return absent
    try:
        state = State.open()
    except sqlite3.Error as exc:
        raise JobsUnavailable(f"summary state unavailable: {exc}") from exc
    try:
        return call(state)
    except sqlite3.Error as exc:
        raise JobsUnavailable(f"summary state unavailable: {exc}") from exc
    finally:
        state.close()


def forget_sessions(session_ids: Iterable[str]) -> int:
    """Delete the local summary state of ``session_ids`` (``lakeloop forget``): how many sessions
    had one. 0 without opening anything when the jobs database does not exist (it is not created
    here). Raises JobsUnavailable when it cannot be written."""
    ids = [s for s in session_ids if s]
    if not ids:
        return 0
    return _on_existing_state(lambda state: state.forget(ids), 0)


def stats(now: float | None = None) -> dict[str, int]:
    """Today's summary cost on this machine (``lakeloop status``): ``{"today": summary runs on
    the UTC day of ``now`` (epoch seconds, default now), "chars_sent": characters sent to the model,
    "failed": runs whose answer was rejected or whose model call failed}``. All zero when the jobs
    database does not exist yet (it is not created here). Raises JobsUnavailable when it cannot be
    read."""
    when = time.time() if now is None else now
    return _on_existing_state(lambda state: state.day_stats(when), {"today": 0, "chars_sent": 0, "failed": 0})
