"""The embedded store: SQLite in the data dir, for users without Deeplake credentials.

WAL journal (readers never block the writer), ``busy_timeout`` 5000 ms so
concurrent hook processes wait for each other instead of failing, and
``synchronous=NORMAL`` (durable across process crashes, the case hooks face).
Columns are those of the Deeplake tables (deeplake-api.md); JSON columns are
stored as text. Session rows are unique by ``id`` (the event id): a UNIQUE index
and ``INSERT OR IGNORE`` make every re-sent event a no-op. A store file from
before that index gets it on open, after repeated ids are deleted (first copy kept).
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any, Sequence

from .. import paths
from ..errors import StoreError, StoreUnavailable
from .base import SESSION_COLUMNS, SKILL_COLUMNS, SessionFilter, SessionRow, SkillRow, Store, unique_rows

BUSY_TIMEOUT_MS = 5000

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
"""


def _json_list(text: Any) -> list[str]:
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


class EmbeddedStore(Store):
    """``Store`` on a SQLite file. ``EmbeddedStore(path)`` opens (and creates) it.

    Raises StoreUnavailable when the file cannot be opened or initialised.
    """

    name = "embedded"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            paths.private_dir(self.path.parent)
            # Created 0600 (SQLite gives the -wal and -shm files the database's mode); an older,
            # wider file is narrowed (issue 7: nothing lakeloop keeps is readable by others).
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, paths.PRIVATE_FILE_MODE))
            for suffix in ("", "-wal", "-shm"):
                paths.private_file(f"{self.path}{suffix}")
            self._db = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            self._db.execute("PRAGMA synchronous = NORMAL")
            if not self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'sessions_id'").fetchone():
                self._migrate()
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(f"cannot open embedded store {self.path}: {exc}") from exc
        self.journal_mode = str(mode)

    def _migrate(self) -> None:
        """Create the schema; give an older file the unique id index (dropping repeated ids)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            if self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'sessions'").fetchone():
                gone = self._db.execute("DELETE FROM sessions WHERE rowid NOT IN "
                                        "(SELECT MIN(rowid) FROM sessions GROUP BY id)").rowcount
                if gone:
                    import logging

                    logging.getLogger("lakeloop.store").warning(
                        "embedded store: removed %d repeated session rows before indexing ids", gone)
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    @classmethod
    def open_default(cls) -> "EmbeddedStore":
        """Open the store at ``paths.store_file()``."""
        return cls(paths.store_file())

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

    def session_rows(self, path: str, types: Sequence[str] | None = None,
                     mentions: str | None = None) -> list[SessionRow]:
        """Rows at ``path`` oldest first, optionally only message ``types`` and tool calls
        that mention ``mentions``. Raises StoreError."""
        sql = f"SELECT {', '.join(SESSION_COLUMNS)} FROM sessions WHERE path = ?"
        params: list[Any] = [path]
        if types:
            sql += f" AND json_extract(message, '$.type') IN ({', '.join('?' for _ in types)})"
            params.extend(types)
        if mentions:
            sql += " AND (json_extract(message, '$.type') <> 'tool_call' OR instr(message, ?) > 0)"
            params.append(mentions)
        sql += " ORDER BY creation_date, rowid"
        return unique_rows(self._session_row(r) for r in self._run(sql, params))

    @staticmethod
    def _session_row(r: Sequence[Any]) -> SessionRow:
        data = dict(zip(SESSION_COLUMNS, r))
        try:
            message = json.loads(data["message"]) if data["message"] else {}
        except ValueError:
            message = {}
        data["message"] = message if isinstance(message, dict) else {}
        emb = data.pop("message_embedding")
        return SessionRow(**data, message_embedding=json.loads(emb) if emb else None)

    def list_sessions(self, limit: int = 50) -> list[dict[str, Any]]:
        """Recent sessions newest first with their rows' event types. Raises StoreError."""
        rows = self._run(
            "SELECT path, json_extract(message, '$.session_id'), json_extract(message, '$.type'),"
            " COUNT(*), MIN(creation_date), MAX(creation_date) FROM sessions"
            " GROUP BY path, json_extract(message, '$.type')"
        )
        sessions: dict[str, dict[str, Any]] = {}
        for path, sid, typ, n, first, last in rows:
            s = sessions.setdefault(path, {"path": path, "session_id": sid, "rows": 0, "types": {},
                                           "first": first, "last": last})
            s["rows"] += n
            s["types"][typ or ""] = n
            s["first"] = min(s["first"], first)
            s["last"] = max(s["last"], last)
            s["session_id"] = s["session_id"] or sid
        return sorted(sessions.values(), key=lambda s: s["last"], reverse=True)[:limit]

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

    def skill_rows(self, name: str | None = None, author: str | None = None,
                   scope: str | None = None) -> list[SkillRow]:
        """Every matching skills row, by name, author, version, created_at, id. Raises StoreError."""
        where, params = [], []
        for column, value in (("name", name), ("author", author), ("scope", scope)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = f"SELECT {', '.join(SKILL_COLUMNS)} FROM skills"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY name, author, version, created_at, id"
        return [self._skill_row(r) for r in self._run(sql, params)]

    def delete_skill_rows(self, ids: Sequence[str]) -> None:
        """Delete skills rows by id. Raises StoreError."""
        if ids:
            self._run(f"DELETE FROM skills WHERE id IN ({', '.join('?' for _ in ids)})", list(ids))

    @staticmethod
    def _session_where(where: SessionFilter) -> tuple[str, list[Any]]:
        if where.empty:
            raise ValueError("refusing a filter that matches every captured row")
        clauses, params = [], []
        if where.session_id:
            clauses.append("json_extract(message, '$.session_id') = ?")
            params.append(where.session_id)
        if where.before:
            clauses.append("creation_date < ?")
            params.append(where.before)
        if where.match:
            clauses.append("instr(message, ?) > 0")
            params.append(where.match)
        return " AND ".join(clauses), params

    def count_session_rows(self, where: SessionFilter) -> int:
        """Rows ``where`` matches. Raises ValueError (empty filter), StoreError."""
        clause, params = self._session_where(where)
        return int(self._run(f"SELECT COUNT(DISTINCT id) FROM sessions WHERE {clause}", params)[0][0])

    def delete_session_rows(self, where: SessionFilter) -> None:
        """Delete the rows ``where`` matches. Raises ValueError (empty filter), StoreError."""
        clause, params = self._session_where(where)
        self._run(f"DELETE FROM sessions WHERE {clause}", params)

    def insert_skill(self, row: SkillRow) -> None:
        """Insert one skill version row. Raises StoreError."""
        values = {**row.__dict__, "source_sessions": json.dumps(row.source_sessions),
                  "contributors": json.dumps(row.contributors)}
        cols = ", ".join(SKILL_COLUMNS)
        marks = ", ".join("?" for _ in SKILL_COLUMNS)
        self._run(f"INSERT INTO skills ({cols}) VALUES ({marks})", [values[c] for c in SKILL_COLUMNS])
