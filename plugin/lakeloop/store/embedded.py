"""The embedded store: SQLite in the data dir, for users without Deeplake credentials.

WAL journal (readers never block the writer), ``busy_timeout`` 5000 ms so
concurrent hook processes wait for each other instead of failing, and
``synchronous=NORMAL`` (durable across process crashes, the case hooks face).
Columns are those of the Deeplake tables (docs/deeplake-store.md); JSON columns are
stored as text. Session rows are unique by ``id`` (the event id): a UNIQUE index
and ``INSERT OR IGNORE`` make every re-sent event a no-op. A store file from
before that index gets it on open, after repeated ids are deleted (first copy kept).

The memory path: a ``memory`` table (docs/deeplake-store.md's columns; notes written through
the memory path, unique by ``id``) and ``sessions_fts``, an FTS5 ``trigram`` index over
``sessions.message`` with ``sessions`` as its external content, kept in step by AFTER INSERT /
DELETE / UPDATE triggers. ``memory_query`` narrows session lines with it (each literal of 3+
characters as a quoted FTS5 string, OR-ed; a shorter literal falls back to an ``instr`` scan) and
ranks them with ``bm25``. The dashboard (``lakeloop ui``) reads recent activity through
``sessions_date``, an index on ``(creation_date, author, agent, project, path, id)``: its date
ranges and equality filters never touch the rows' messages. Schema version 3 (``PRAGMA
user_version``; 2 lacked ``sessions_date``): a file made by older code
gets these on open, the FTS index rebuilt from the rows, in one ``BEGIN IMMEDIATE`` transaction that
re-checks the version first (a concurrent open waits, then finds it done). An already migrated
file costs one cheap check. The FTS index is keyed by the sessions rowid: the store never runs
``VACUUM`` (which may renumber rowids of a table without an INTEGER PRIMARY KEY); after a manual
one, ``INSERT INTO sessions_fts(sessions_fts) VALUES('rebuild')`` realigns it.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from .. import __version__, paths
from ..errors import StoreError, StoreUnavailable
from . import memory_sql as msql
from .base import (
    SESSION_COLUMNS,
    SKILL_COLUMNS,
    OutcomeUse,
    SessionFilter,
    SessionListQuery,
    SessionRow,
    SessionRowsPage,
    SkillRow,
    Store,
    unique_rows,
)
from .memory_types import MemoryQuery, MemoryRecord, NoteRow, SearchHit

TYPE_CHECKING = False  # typing is not imported at run time (hook start-up time)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

BUSY_TIMEOUT_MS = 5000
#: How long an open waits for a concurrent one's migration (rebuilding the FTS index of a big
#: store takes seconds).
MIGRATE_TIMEOUT_MS = 120_000
SCHEMA_VERSION = 3
#: FTS5's trigram tokenizer needs SQLite 3.34; ``AS MATERIALIZED`` 3.35.
_TRIGRAM = sqlite3.sqlite_version_info >= (3, 34, 0)
_MATERIALIZED = "MATERIALIZED " if sqlite3.sqlite_version_info >= (3, 35, 0) else ""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT NOT NULL DEFAULT '',
    path TEXT NOT NULL DEFAULT '',
    filename TEXT NOT NULL DEFAULT '',
    message TEXT,
    message_embedding TEXT,
    author TEXT NOT NULL DEFAULT '',
    mime_type TEXT NOT NULL DEFAULT 'application/json',
    size_bytes INTEGER NOT NULL DEFAULT 0,
    project TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    agent TEXT NOT NULL DEFAULT '',
    plugin_version TEXT NOT NULL DEFAULT '',
    creation_date TEXT NOT NULL DEFAULT '',
    last_update_date TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS sessions_path ON sessions (path, creation_date);
CREATE UNIQUE INDEX IF NOT EXISTS sessions_id ON sessions (id);
CREATE TABLE IF NOT EXISTS skills (
    id TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL DEFAULT '',
    project TEXT NOT NULL DEFAULT '',
    project_key TEXT NOT NULL DEFAULT '',
    local_path TEXT NOT NULL DEFAULT '',
    install TEXT NOT NULL DEFAULT 'global',
    source_sessions TEXT NOT NULL DEFAULT '[]',
    source_agent TEXT NOT NULL DEFAULT '',
    scope TEXT NOT NULL DEFAULT 'me',
    author TEXT NOT NULL DEFAULT '',
    contributors TEXT NOT NULL DEFAULT '[]',
    description TEXT NOT NULL DEFAULT '',
    trigger_text TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS skills_name_author ON skills (name, author, version);
CREATE TABLE IF NOT EXISTS memory (
    id TEXT NOT NULL DEFAULT '',
    path TEXT NOT NULL DEFAULT '',
    filename TEXT NOT NULL DEFAULT '',
    summary TEXT NOT NULL DEFAULT '',
    summary_embedding TEXT,
    author TEXT NOT NULL DEFAULT '',
    mime_type TEXT NOT NULL DEFAULT 'text/plain',
    size_bytes INTEGER NOT NULL DEFAULT 0,
    project TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    agent TEXT NOT NULL DEFAULT '',
    plugin_version TEXT NOT NULL DEFAULT '',
    creation_date TEXT NOT NULL DEFAULT '',
    last_update_date TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX IF NOT EXISTS memory_id ON memory (id);
CREATE INDEX IF NOT EXISTS memory_path ON memory (path, last_update_date);
CREATE INDEX IF NOT EXISTS sessions_path_order ON sessions (path, creation_date, id);
CREATE INDEX IF NOT EXISTS sessions_date ON sessions (creation_date, author, agent, project, path, id);
DROP INDEX IF EXISTS sessions_path
"""
#: The FTS5 index over session messages and the triggers keeping it in step (one statement each).
_FTS = (
    "CREATE VIRTUAL TABLE sessions_fts USING fts5(message, content='sessions', content_rowid='rowid', "
    "tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS sessions_fts_ai AFTER INSERT ON sessions BEGIN "
    "INSERT INTO sessions_fts(rowid, message) VALUES (new.rowid, new.message); END",
    "CREATE TRIGGER IF NOT EXISTS sessions_fts_ad AFTER DELETE ON sessions BEGIN "
    "INSERT INTO sessions_fts(sessions_fts, rowid, message) VALUES ('delete', old.rowid, old.message); END",
    "CREATE TRIGGER IF NOT EXISTS sessions_fts_au AFTER UPDATE ON sessions BEGIN "
    "INSERT INTO sessions_fts(sessions_fts, rowid, message) VALUES ('delete', old.rowid, old.message); "
    "INSERT INTO sessions_fts(rowid, message) VALUES (new.rowid, new.message); END",
    "INSERT INTO sessions_fts(sessions_fts) VALUES ('rebuild')",
)


#: (schema version, 1 when the FTS index exists): the one check an open of a migrated file costs.
_STATE = (
    "SELECT (SELECT user_version FROM pragma_user_version), "
    "(SELECT COUNT(*) FROM sqlite_master WHERE name = 'sessions_fts')"
)


def _casefold(text: Any) -> Any:
    """SQL ``lakeloop_casefold(x)`` (``memory_sql.FOLD_FUNCTION``): ``str.casefold`` of text, other
    values (NULL, numbers) as they are."""
    return text.casefold() if isinstance(text, str) else text


def _json_list(text: Any) -> list[str]:
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def read_only_sqlite(path: Path, timeout_s: float) -> sqlite3.Connection:
    """A read-only connection (URI ``mode=ro``, ``PRAGMA query_only``, autocommit) to the existing
    SQLite file ``path``, which must be a regular file (a FIFO or device would block the open: it is
    refused before). When the file cannot be read that way and its directory is not writable (a
    read-only copy or mount: SQLite cannot make the WAL's ``-shm`` there), it is opened
    ``immutable=1`` instead. ``timeout_s``: longest wait for a writer's lock. Raises OSError (no
    such file), sqlite3.Error (not a regular file, not a database, unreadable)."""
    import stat

    if not stat.S_ISREG(os.stat(path).st_mode):
        raise sqlite3.OperationalError(f"not a regular file: {path}")
    uri = Path(path).resolve().as_uri()
    db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=timeout_s, isolation_level=None)
    try:
        db.execute("PRAGMA query_only = ON")
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.OperationalError:
        db.close()
        if os.access(Path(path).parent, os.W_OK):
            raise
    db = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, timeout=timeout_s, isolation_level=None)
    db.execute("PRAGMA query_only = ON")
    return db


def read_only_connect(path: Path, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> tuple[sqlite3.Connection, bool, str]:
    """``(connection, fts, journal mode)`` of the existing store file ``path`` opened read-only
    (``read_only_sqlite``: every write statement fails with "attempt to write a readonly
    database"). The file is not created, its mode not narrowed,
    its schema not migrated: a file of an older schema is read as it is (a query that needs a
    newer table fails with StoreError) and a warning is logged. Raises StoreUnavailable when the
    file does not exist or cannot be opened."""
    import logging

    try:
        db = read_only_sqlite(path, busy_timeout_ms / 1000)
        db.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
        version, fts = db.execute(_STATE).fetchone()
        mode = str(db.execute("PRAGMA journal_mode").fetchone()[0])
    except (sqlite3.Error, OSError, ValueError) as exc:
        raise StoreUnavailable(f"cannot open embedded store {path} read-only: {exc}") from exc
    if version < SCHEMA_VERSION:
        logging.getLogger("lakeloop.store").warning(
            "embedded store %s has schema %d (current %d), read as it is: any lakeloop command that "
            "writes brings it up to date",
            path,
            version,
            SCHEMA_VERSION,
        )
    return db, bool(fts), mode


class EmbeddedStore(Store):
    """``Store`` on a SQLite file. ``EmbeddedStore(path)`` opens (and creates) it.

    Raises StoreUnavailable when the file cannot be opened or initialised.
    """

    name = "embedded"

    def __init__(
        self,
        path: Path,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
        deadline_s: float | None = None,
        *,
        read_only: bool = False,
    ) -> None:
        """``busy_timeout_ms``: longest wait for another process's write lock; ``deadline_s``:
        when set (a memory-path answer), every statement of this connection, a migration
        included, is aborted once that many seconds have passed since the open (a progress
        handler: SQLite's C loops do not run Python's signal handlers). ``read_only`` (the
        dashboard's pages): ``read_only_connect``; nothing is created, narrowed or migrated."""
        self.path = Path(path)
        self._busy_ms = busy_timeout_ms
        if read_only:
            self._db, self.fts, self.journal_mode = read_only_connect(self.path, busy_timeout_ms)
            return
        try:
            paths.private_dir(self.path.parent)
            # Created 0600 (SQLite gives the -wal and -shm files the database's mode); an older,
            # wider file is narrowed (nothing lakeloop keeps is readable by others). An existing
            # file is never opened here: closing any descriptor of a file drops every POSIX lock
            # this process holds on it, including those of another open SQLite connection, and a
            # concurrent writer could then corrupt the database. Only a new file is created.
            try:
                os.close(os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, paths.PRIVATE_FILE_MODE))
            except FileExistsError:
                pass
            for suffix in ("", "-wal", "-shm"):
                paths.private_file(f"{self.path}{suffix}")
            self._db = sqlite3.connect(str(self.path), timeout=busy_timeout_ms / 1000, isolation_level=None)
            self._db.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
            if deadline_s is not None:
                import time

                ends = time.monotonic() + deadline_s
                self._db.set_progress_handler(lambda: 1 if time.monotonic() > ends else 0, 10_000)
            mode = self._wal()
            self._db.execute("PRAGMA synchronous = NORMAL")
            version, fts = self._db.execute(_STATE).fetchone()
            if version < SCHEMA_VERSION:
                self._migrate()
                version, fts = self._db.execute(_STATE).fetchone()
            self.fts = bool(fts)
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(f"cannot open embedded store {self.path}: {exc}") from exc
        self.journal_mode = str(mode)

    def _wal(self) -> str:
        """Switch the file to WAL (once per file). Changing the journal mode can fail at once with
        "database is locked" while another process creates the schema (the busy handler is not
        always consulted), so it is retried until the busy timeout has passed."""
        import time

        mode = str(self._db.execute("PRAGMA journal_mode").fetchone()[0])
        if mode.lower() == "wal":
            return mode
        ends = time.monotonic() + self._busy_ms / 1000
        while True:
            try:
                return str(self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > ends:
                    raise
                time.sleep(0.02)

    def _migrate(self) -> None:
        """Bring the file to ``SCHEMA_VERSION`` in one transaction: create the schema; give an
        older file the unique id index (dropping repeated ids), the memory table, the FTS
        index (rebuilt from the rows) and ``sessions_date``. Re-checks the version under the write lock, so of two
        concurrent opens only the first does the work."""
        import logging

        log = logging.getLogger("lakeloop.store")
        # wait for a concurrent migration as long as it may take, except on a short-lived open
        wait_ms = MIGRATE_TIMEOUT_MS if self._busy_ms >= BUSY_TIMEOUT_MS else self._busy_ms
        self._db.execute(f"PRAGMA busy_timeout = {wait_ms}")
        try:
            self._db.execute("BEGIN IMMEDIATE")
        finally:
            self._db.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
        try:
            if self._db.execute(_STATE).fetchone()[0] >= SCHEMA_VERSION:  # a concurrent open did it
                self._db.execute("COMMIT")
                return
            names = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master")}
            if "sessions" in names and "sessions_id" not in names:
                gone = self._db.execute(
                    "DELETE FROM sessions WHERE rowid NOT IN (SELECT MIN(rowid) FROM sessions GROUP BY id)"
                ).rowcount
                if gone:
                    log.warning("embedded store: removed %d repeated session rows before indexing ids", gone)
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            if "sessions_fts" not in names and _TRIGRAM:
                try:
                    self._db.execute("SAVEPOINT fts")
                    for statement in _FTS:
                        self._db.execute(statement)
                    self._db.execute("RELEASE fts")
                except sqlite3.OperationalError as exc:  # SQLite built without FTS5: lines are scanned
                    self._db.execute("ROLLBACK TO fts")
                    self._db.execute("RELEASE fts")
                    log.warning("embedded store: no full-text index (%s); memory searches scan", exc)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    @classmethod
    def open_default(cls) -> EmbeddedStore:
        """Open the store at ``paths.store_file()``."""
        return cls(paths.store_file())

    def interrupt(self) -> None:
        """Abort the statement this connection is running, if any (it then raises StoreError
        "interrupted"); callable from any thread (``sqlite3.Connection.interrupt``). Never raises."""
        try:
            self._db.interrupt()
        except sqlite3.Error:
            pass

    def close(self) -> None:
        """Close the connection."""
        try:
            self._db.close()
        except sqlite3.Error:
            pass

    def _run(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        try:
            cur = self._db.execute(sql, params)
            return cur.fetchall()
        except (sqlite3.Error, UnicodeEncodeError) as exc:  # a lone surrogate cannot be bound as UTF-8
            raise StoreError(f"embedded store query failed: {exc}") from exc

    # sessions -------------------------------------------------------------
    @staticmethod
    def _session_values(row: SessionRow) -> list[Any]:
        message = json.dumps(row.message, ensure_ascii=False)
        try:
            message.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogate (valid JSON "\\ud800"): keep the row, escape it
            message = json.dumps(row.message)
        values = {
            **row.__dict__,
            "message": message,
            "message_embedding": None if row.message_embedding is None else json.dumps(row.message_embedding),
        }
        return [values[c] for c in SESSION_COLUMNS]

    def append_session_rows(self, rows: Sequence[SessionRow], unsure: bool = False) -> None:
        """Insert rows in one transaction; an id already stored is ignored (``unsure`` needs
        no lookup here: the unique index decides). Raises StoreError."""
        if not rows:
            return
        cols = ", ".join(SESSION_COLUMNS)
        marks = ", ".join("?" for _ in SESSION_COLUMNS)
        values = [self._session_values(row) for row in rows]
        try:
            with self._db:  # one transaction: all rows or none
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(f"INSERT OR IGNORE INTO sessions ({cols}) VALUES ({marks})", values)
        except (sqlite3.Error, UnicodeEncodeError) as exc:
            raise StoreError(f"embedded store insert failed: {exc}") from exc

    def session_rows(
        self,
        path: str,
        types: Sequence[str] | None = None,
        mentions: str | None = None,
        after: tuple[str, str] | None = None,
        *,
        limit: int | None = None,
        message_bytes: int | None = None,
    ) -> list[SessionRow]:
        """Rows at ``path`` oldest first, optionally only message ``types``, tool calls
        that mention ``mentions``, and rows after ``after = (creation_date, id)`` (compared as
        that pair, on the ``(path, creation_date, id)`` index); ``limit`` and ``message_bytes`` as
        ``Store.session_rows`` (the total and last date in the same statement, a CTE on the same
        filters). Raises StoreError."""
        where = "path = ?"
        params: list[Any] = [path]
        if types:
            where += f" AND json_extract(message, '$.type') IN ({', '.join('?' for _ in types)})"
            params.extend(types)
        if mentions:
            where += " AND (json_extract(message, '$.type') <> 'tool_call' OR instr(message, ?) > 0)"
            params.append(mentions)
        if after is not None:
            where += " AND (creation_date > ? OR (creation_date = ? AND id > ?))"
            params.extend((after[0], after[0], after[1]))
        cols = list(SESSION_COLUMNS)
        if message_bytes is not None:  # message and embedding not read: the bounded columns instead
            cols = ["NULL" if c in ("message", "message_embedding") else c for c in cols]
            cols += msql.bounded_message_sql(msql.SqliteDialect(), message_bytes)
        if limit is None:
            sql = f"SELECT {', '.join(cols)} FROM sessions WHERE {where} ORDER BY creation_date, rowid"
            return unique_rows(self._session_row(r) for r in self._run(sql, params))
        count = f"SELECT COUNT(DISTINCT id) AS total, MAX(creation_date) AS last FROM sessions WHERE {where}"
        if limit <= 0:  # the count alone
            total, last = self._run(count, params)[0]
            return SessionRowsPage([], int(total or 0), str(last or ""))
        sql = (
            f"WITH n AS ({count}) SELECT n.total, n.last, {', '.join(cols)} FROM n, sessions "
            f"WHERE {where} ORDER BY creation_date, sessions.rowid LIMIT {int(limit)}"
        )
        got = self._run(sql, params + params)
        total, last = (got[0][0], got[0][1]) if got else (0, "")
        return SessionRowsPage(unique_rows(self._session_row(r[2:]) for r in got), int(total or 0), str(last or ""))

    @staticmethod
    def _session_row(r: Sequence[Any]) -> SessionRow:
        data = dict(zip(SESSION_COLUMNS, r))
        extra = r[len(SESSION_COLUMNS) :]  # bounded: the message text or NULL, its bytes, the cut fields
        if extra:
            data["message"] = extra[0]
        try:
            message = json.loads(data["message"]) if data["message"] else {}
        except (ValueError, RecursionError):
            message = {}
        if extra and extra[0] is None and extra[1] is not None:  # longer than the bound: its cut fields
            try:
                fields = json.loads(extra[2]) if extra[2] else {}
            except (ValueError, RecursionError):
                fields = {}
            message = msql.cut_message(extra[1], fields if isinstance(fields, dict) else {})
        data["message"] = message if isinstance(message, dict) else {}
        emb = data.pop("message_embedding")
        return SessionRow(**data, message_embedding=json.loads(emb) if emb else None)

    def list_sessions(self, limit: int = 50, prefix: str | None = None) -> list[dict[str, Any]]:
        """Recent sessions newest first with their rows' event types (under ``prefix`` when given).
        Raises StoreError."""
        d = msql.SqliteDialect()
        where = f" WHERE {d.prefix('path', prefix)}" if prefix else ""
        rows = self._run(
            "SELECT path, json_extract(message, '$.session_id'), json_extract(message, '$.type'),"
            f" COUNT(*), MIN(creation_date), MAX(creation_date), MIN(agent) FROM sessions{where}"
            " GROUP BY path, json_extract(message, '$.type')",
            d.params,
        )
        sessions: dict[str, dict[str, Any]] = {}
        for path, sid, typ, n, first, last, agent in rows:
            s = sessions.setdefault(
                path,
                {"path": path, "session_id": sid, "rows": 0, "types": {}, "first": first, "last": last, "agent": agent},
            )
            s["rows"] += n
            s["types"][typ or ""] = n
            s["first"] = min(s["first"], first)
            s["last"] = max(s["last"], last)
            s["session_id"] = s["session_id"] or sid
        return sorted(sessions.values(), key=lambda s: s["last"], reverse=True)[:limit]

    def activity(self, since: str, day_start: str) -> list[dict[str, Any]]:
        """Events and sessions per (author, agent) since ``since``, and since ``day_start``
        (``Store.activity``): one statement (``memory_sql.activity_sql``) over the
        ``sessions_date`` index. Raises StoreError."""
        if not msql.storable(since, day_start):
            return []
        d = msql.SqliteDialect()
        return msql.activity(self._run(msql.activity_sql(d, since, day_start), d.params))

    def session_list(self, query: SessionListQuery) -> list[dict[str, Any]]:
        """One page of the sessions ``query`` selects, newest first (``Store.session_list``): one
        statement (``memory_sql.session_list_sql``). Raises StoreError."""
        if query.limit <= 0 or not msql.storable(query.user, query.agent, query.project, query.since, query.until):
            return []
        d = msql.SqliteDialect()
        return msql.session_list(self._run(msql.session_list_sql(d, query, _MATERIALIZED), d.params))

    # skills ---------------------------------------------------------------
    @staticmethod
    def _skill_row(r: Sequence[Any]) -> SkillRow:
        data = dict(zip(SKILL_COLUMNS, r))
        data["source_sessions"] = _json_list(data["source_sessions"])
        data["contributors"] = _json_list(data["contributors"])
        data["version"] = int(data["version"])
        return SkillRow(**data)

    def current_skill(self, name: str, author: str) -> SkillRow | None:
        """The current team version of ``(name, author)`` (``winner_key``). Raises StoreError."""
        rows = self._run(
            f"SELECT {', '.join(SKILL_COLUMNS)} FROM skills WHERE name = ? AND author = ? AND scope <> 'proposal'"
            " ORDER BY version DESC, created_at ASC, id ASC LIMIT 1",
            (name, author),
        )
        return self._skill_row(rows[0]) if rows else None

    def latest_skills(self, scope: str | None = "team") -> list[SkillRow]:
        """Current version of every skill (of ``scope``). Raises StoreError."""
        sql = f"SELECT {', '.join(SKILL_COLUMNS)} FROM skills"
        params: list[Any] = []
        if scope:
            sql += " WHERE scope = ?"
            params.append(scope)
        sql += " ORDER BY name, author, version DESC, created_at ASC, id ASC"
        latest: dict[tuple[str, str], SkillRow] = {}
        for r in self._run(sql, params):
            row = self._skill_row(r)
            latest.setdefault((row.name, row.author), row)
        return list(latest.values())

    def skill_rows(
        self, name: str | None = None, author: str | None = None, scope: str | None = None, *, bodies: bool = True
    ) -> list[SkillRow]:
        """Every matching skills row, by name, author, version, created_at, id; ``bodies=False``:
        ``body`` is ``""``, not read (``Store.skill_rows``). Raises StoreError."""
        where, params = [], []
        for column, value in (("name", name), ("author", author), ("scope", scope)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        cols = [c if bodies or c != "body" else "'' AS body" for c in SKILL_COLUMNS]
        sql = f"SELECT {', '.join(cols)} FROM skills"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY name, author, version, created_at, id"
        return [self._skill_row(r) for r in self._run(sql, params)]

    def delete_skill_rows(self, ids: Sequence[str]) -> None:
        """Delete skills rows by id. Raises StoreError."""
        if ids:
            self._run(f"DELETE FROM skills WHERE id IN ({', '.join('?' for _ in ids)})", list(ids))

    def _forget_where(self, table: str, where: SessionFilter) -> tuple[str | None, list[Any]]:
        """``(condition or None, params)`` of ``where`` on ``table`` (``memory_sql.forget_where``),
        with the case-folding function it uses registered. Raises ValueError (empty filter)."""
        if where.empty:
            raise ValueError("refusing a filter that matches every captured row")
        self._db.create_function(msql.FOLD_FUNCTION, 1, _casefold, deterministic=True)
        d = msql.SqliteDialect()
        clause = msql.forget_where(d, table, where.session_id, where.before, where.match)
        return clause, d.params

    def count_session_rows(self, where: SessionFilter) -> int:
        """Rows ``where`` matches. Raises ValueError (empty filter), StoreError."""
        clause, params = self._forget_where("sessions", where)
        return int(self._run(f"SELECT COUNT(DISTINCT id) FROM sessions WHERE {clause}", params)[0][0])

    def delete_session_rows(self, where: SessionFilter) -> None:
        """Delete the rows ``where`` matches. Raises ValueError (empty filter), StoreError."""
        clause, params = self._forget_where("sessions", where)
        self._run(f"DELETE FROM sessions WHERE {clause}", params)

    def memory_rows_matching(self, where: SessionFilter) -> list[tuple[str, int]]:
        """``[(path, rows)]`` of the memory rows ``where`` matches, by path. Raises ValueError
        (empty filter), StoreError."""
        clause, params = self._forget_where("memory", where)
        if clause is None:
            return []
        rows = self._run(f"SELECT path, COUNT(*) FROM memory WHERE {clause} GROUP BY path ORDER BY path", params)
        return [(str(path), int(n)) for path, n in rows]

    def delete_memory_rows(self, where: SessionFilter) -> None:
        """Delete the memory rows ``where`` matches. Raises ValueError (empty filter), StoreError."""
        clause, params = self._forget_where("memory", where)
        if clause is not None:
            self._run(f"DELETE FROM memory WHERE {clause}", params)

    def insert_skill(self, row: SkillRow) -> None:
        """Insert one skill version row. Raises StoreError."""
        values = {
            **row.__dict__,
            "source_sessions": json.dumps(row.source_sessions),
            "contributors": json.dumps(row.contributors),
        }
        cols = ", ".join(SKILL_COLUMNS)
        marks = ", ".join("?" for _ in SKILL_COLUMNS)
        self._run(f"INSERT INTO skills ({cols}) VALUES ({marks})", [values[c] for c in SKILL_COLUMNS])

    # memory path ------------------------------------------------------
    def memory_query(self, query: MemoryQuery) -> list[MemoryRecord]:
        """Answer ``query`` (``memory_types``) with one SQL statement; [] without a query when
        ``query.empty``. Narrowed session lines come from the FTS5 trigram index (``bm25``
        scores, negated so higher is better, on candidate lines when ``rank``), or from an
        ``instr`` scan when a literal is shorter than 3 characters or there is no index (then
        ranked with ``memory_sql.bm25`` over the candidates). Raises StoreError."""
        if query.empty:
            return []
        d = msql.SqliteDialect()
        ctes: list[str] = []
        parts: list[str] = []
        rank_here = None
        if query.matcher is not None and query.literals is None:
            matcher = query.matcher

            def mq_match(text: Any) -> int:
                return 1 if isinstance(text, str) and matcher(msql.one_line(text)) else 0

            self._db.create_function("mq_match", 1, mq_match, deterministic=True)
            d.matcher_sql = "mq_match"
        if query.content:
            if self._fts_usable(query.literals):
                self._fts_lines(query, d, ctes, parts)
            else:
                msql.lines_scan(query, d, ctes, parts)
                rank_here = query.literals if query.rank else None
            msql.limit_lines(query, parts, len(parts))
        msql.shared_parts(query, d, ctes, parts)
        text = msql.statement(ctes, parts, d.recursive)
        return msql.records(self._run(text, d.params), rank_here) if text else []

    def _fts_usable(self, literals: tuple[str, ...] | None) -> bool:
        return bool(self.fts and literals and all(len(lit) >= 3 for lit in literals))

    @staticmethod
    def _fts_match(words) -> str:
        return " OR ".join('"' + w.replace('"', '""') + '"' for w in words)

    def _fts_lines(self, q: MemoryQuery, d: msql.SqliteDialect, ctes: list[str], parts: list[str]) -> None:
        """Narrowed session lines through ``sessions_fts``: the candidates (MATCH), each one's line
        number counted on the ``(path, creation_date, id)`` index (ids are unique here, so the
        row count is the dense rank), and its context lines walked from it one index seek per
        line (a recursive CTE), so the cost follows the candidates, not the files' sizes."""
        sess = msql.scoped(q.prefixes, "/sessions/")
        if not sess:
            return
        score = "-bm25(sessions_fts)" if q.rank else "0.0"
        ctes.append(
            f"fl_m AS {_MATERIALIZED}(SELECT rowid AS rid, {score} AS score FROM sessions_fts "
            f"WHERE sessions_fts MATCH {d.lit(self._fts_match(q.literals))})"
        )
        ctes.append(
            "fl_c AS (SELECT s.rowid AS rid, s.path, s.creation_date AS cd, s.id, m.score, "
            "1 + (SELECT COUNT(*) FROM sessions x WHERE x.path = s.path "
            "AND (x.creation_date, x.id) < (s.creation_date, s.id)) AS ln "
            f"FROM fl_m m JOIN sessions s ON s.rowid = m.rid WHERE {msql.any_prefix(d, 's.path', sess)})"
        )
        rows = ["SELECT rid, 1 AS hit, score, ln FROM fl_c"]
        for name, depth, cmp, order, step in (
            ("fl_b", q.context[0], "<", "DESC", "-"),
            ("fl_a", q.context[1], ">", "ASC", "+"),
        ):
            if depth <= 0:
                continue
            d.recursive = True
            ctes.append(
                f"{name}(rid, path, cd, id, ln, k) AS (SELECT rid, path, cd, id, ln, 0 FROM fl_c UNION ALL "
                f"SELECT n.rowid, n.path, n.creation_date, n.id, w.ln {step} 1, w.k + 1 FROM {name} w "
                f"JOIN sessions n ON n.rowid = (SELECT x.rowid FROM sessions x WHERE x.path = w.path AND "
                f"(x.creation_date, x.id) {cmp} (w.cd, w.id) ORDER BY x.creation_date {order}, x.id {order} "
                f"LIMIT 1) WHERE w.k < {int(depth)})"
            )
            rows.append(f"SELECT rid, 0, 0.0, ln FROM {name} WHERE k > 0")
        ctes.append(
            f"fl_k AS (SELECT rid, MAX(hit) AS hit, MAX(score) AS score, MIN(ln) AS ln FROM "
            f"({' UNION ALL '.join(rows)}) GROUP BY rid)"
        )
        parts.append(
            "SELECT 'line' AS kind, s.path AS path, s.message AS text, k.ln AS line, s.author AS author, "
            "s.project AS project, s.creation_date AS date, k.score AS score, k.hit AS hit, '' AS note "
            "FROM fl_k k JOIN sessions s ON s.rowid = k.rid"
        )

    def insert_note(self, row: NoteRow) -> None:
        """Append ``row`` to the memory table; a second insert of the same ``id`` is a no-op
        (unique index, ``INSERT OR IGNORE``). Raises StoreError."""
        values = msql.note_values(row, __version__)
        cols = ", ".join(msql.MEMORY_COLUMNS)
        marks = ", ".join("?" for _ in msql.MEMORY_COLUMNS)
        self._run(f"INSERT OR IGNORE INTO memory ({cols}) VALUES ({marks})", [values[c] for c in msql.MEMORY_COLUMNS])

    def recent_docs(self, prefix: str, project: str | None, limit: int = 8) -> list[MemoryRecord]:
        """The newest memory row of each path under ``prefix`` of ``project`` (None: any), newest first, at most
        ``limit`` (``memory_sql.recent_docs_sql``): one statement. Raises StoreError."""
        d = msql.SqliteDialect()
        return msql.recent_records(self._run(msql.recent_docs_sql(d, prefix, project, limit), d.params))

    def outcome_uses(self, ref: str) -> list[OutcomeUse]:
        """The outcome rows of ``ref`` grouped by (path, description) (``Store.outcome_uses``;
        ``memory_sql.outcome_uses_sql``: one statement, a range on the path index). Raises
        StoreError."""
        d = msql.SqliteDialect()
        return msql.outcome_uses(self._run(msql.outcome_uses_sql(d, ref), d.params), ref)

    def put_memory_doc(self, row: NoteRow, *, unsure: bool = False, supersede: bool = False) -> None:
        """Write ``row`` to the memory table in one transaction: ``INSERT OR IGNORE`` (an id already
        stored is not stored again, so ``unsure`` needs no lookup here) and, with ``supersede``,
        the deletion of the other rows at ``row.path``. Raises StoreError."""
        values = msql.note_values(row, __version__)
        cols = ", ".join(msql.MEMORY_COLUMNS)
        marks = ", ".join("?" for _ in msql.MEMORY_COLUMNS)
        try:
            with self._db:  # one transaction: the new version and the end of the others, or neither
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute(
                    f"INSERT OR IGNORE INTO memory ({cols}) VALUES ({marks})", [values[c] for c in msql.MEMORY_COLUMNS]
                )
                if supersede:
                    self._db.execute("DELETE FROM memory WHERE path = ? AND id <> ?", (row.path, row.id))
        except (sqlite3.Error, UnicodeEncodeError) as exc:
            raise StoreError(f"embedded store write failed: {exc}") from exc

    def search(
        self,
        query: str,
        limit: int = 10,
        user: str | None = None,
        project: str | None = None,
        *,
        agent: str | None = None,
        since: str | None = None,
    ) -> list[SearchHit]:
        """The ``limit`` best matches for the words of ``query`` (``memory_sql.search_words``),
        best first, in one statement: session lines by FTS5 ``bm25`` (negated: higher is better;
        an ``instr`` scan of the newest ``SEARCH_CANDIDATES`` matching rows, ranked with
        ``memory_sql.bm25``, when every word is shorter than 3 characters), plus current notes,
        summaries and team skills containing a word (``instr``), scored with ``memory_sql.bm25`` over the
        returned texts. ``user``/``project`` keep only rows of that author/project (sessions,
        notes and skills); ``agent``/``since`` as ``Store.search`` (with ``agent``, session lines
        only). Hit text: ~200 characters around the first matching word. Raises StoreError."""
        words = msql.search_words(query)
        if not words or limit <= 0 or not msql.storable(agent, since):  # such a filter matches nothing
            return []
        d = msql.SqliteDialect()
        ctes: list[str] = []
        parts: list[str] = []
        filt = msql.search_filters(d, user, project, "s.", agent=agent, since=since, date="s.creation_date")
        fts = self._fts_usable(tuple(words))
        if fts:
            ctes.append(
                f"sq_m AS {_MATERIALIZED}(SELECT rowid AS rid, -bm25(sessions_fts) AS score FROM sessions_fts "
                f"WHERE sessions_fts MATCH {d.lit(self._fts_match(words))})"
            )
            ctes.append(
                "sq_t AS (SELECT s.rowid AS rid, s.path, s.message, s.author, s.project, s.creation_date, m.score "
                f"FROM sq_m m JOIN sessions s ON s.rowid = m.rid WHERE 1 = 1{filt} "
                f"ORDER BY m.score DESC LIMIT {int(limit)})"
            )
        else:
            match = " OR ".join(d.contains("s.message", w) for w in words)
            ctes.append(
                "sq_t AS (SELECT s.rowid AS rid, s.path, s.message, s.author, s.project, s.creation_date, 0.0 AS score "
                f"FROM sessions s WHERE ({match}){filt} ORDER BY s.creation_date DESC "
                f"LIMIT {msql.SEARCH_CANDIDATES})"
            )
        # ``line`` holds the rowid here: the line numbers are counted for the returned hits only
        # (``_line_numbers``), not for each of up to SEARCH_CANDIDATES candidates.
        parts.append(
            f"SELECT 'line' AS kind, t.path AS path, {self._hit_text(d, words[0])} AS text, t.rid AS line, "
            "t.author AS author, t.project AS project, t.creation_date AS date, "
            "t.score AS score, 'session' AS hit, '' AS note FROM sq_t t"
        )
        msql.doc_search_parts(d, words, user, project, ctes, parts, agent=agent, since=since)
        rows = self._run(msql.statement(ctes, parts), d.params)
        return self._line_numbers(msql.hits(rows, words, limit, rank_here="docs" if fts else "all"))

    @staticmethod
    def _hit_text(d: msql.SqliteDialect, word: str) -> str:
        """SQL for a hit's text: ``t.message`` when at most ``HIT_TEXT_CHARS`` characters, else
        that many characters from a little before ``word``'s first occurrence (or the start)."""
        cap = msql.HIT_TEXT_CHARS
        at = f"instr(t.message, {d.lit(word)})"
        return (
            f"CASE WHEN length(t.message) <= {cap} THEN t.message "
            f"ELSE substr(t.message, max(1, {at} - {cap // 4}), {cap}) END"
        )

    def _line_numbers(self, hits: list[SearchHit]) -> list[SearchHit]:
        """``hits`` with each session line's ``line`` (a rowid, from ``search``) replaced by its
        1-based line in its session (by ``creation_date``, then ``id``), in one statement over the
        ``sessions_path_order`` index: one count per returned hit. Raises StoreError."""
        from ..records import replace

        rowids = sorted({h.line for h in hits if h.extra.get("kind") == "session"})
        if not rowids:
            return hits
        marks = ", ".join("(?)" for _ in rowids)
        found = self._run(
            f"WITH r(rid) AS (VALUES {marks}) SELECT r.rid, 1 + (SELECT COUNT(*) FROM sessions x "
            "WHERE x.path = s.path AND (x.creation_date < s.creation_date "
            "OR (x.creation_date = s.creation_date AND x.id < s.id))) FROM r JOIN sessions s ON s.rowid = r.rid",
            rowids,
        )
        line = {int(rid): int(n) for rid, n in found}
        return [replace(h, line=line.get(h.line, 0)) if h.extra.get("kind") == "session" else h for h in hits]
