"""The Deeplake store: the ``Store`` interface over Deeplake's tables API.

PostgreSQL-dialect SQL sent through ``DeeplakeClient``; every value goes
through ``lakeloop.deeplake.sql`` (the one escaping module). Tables are
created ``USING deeplake`` with the schemas of docs/deeplake-store.md and healed:
one ``information_schema.columns`` SELECT, then ``ADD COLUMN`` only for what
is missing. Healing runs once per machine and schema (a marker file in the
data dir), and again whenever a query says a table or column does not exist.
Rows are interchangeable with other clients of the same tables: the session
path convention and message JSON are ``lakeloop.capture.rows``'; the current skill
version is the highest ``version``, then the latest ``created_at``. Data is
written append-only (in-place UPDATE is unreliable on this backend).

Exactly once: a batch of session rows is one multi-row INSERT, sent as a
non-idempotent request. Only when its outcome is unknown (``OutcomeUnknown``: a
5xx, or the connection failed after sending), or the caller says an earlier
send's outcome is unknown (``unsure``), does one SELECT look the batch's ids up
within their session paths, after waiting out the visibility lag
(``visibility_wait_s``, 5 s: a row committed moments ago is not visible yet),
and only the missing rows are sent again. Every reader drops repeated ids,
because a lag longer than that wait can still let a second copy through.

The memory path: ``memory_query`` is one SELECT (one request) built by
``lakeloop.store.memory_sql``; line numbers are ``dense_rank()`` over (creation_date, id), so
repeated ids share one. ``search`` tries the service's BM25 (``<#>``, after a one-time
``CREATE INDEX ... USING deeplake_index (...) WITH (index_type = 'bm25')`` on ``memory.summary``
and ``skills.body``); when the service reports the operator or index unsupported it falls back to
``ILIKE`` ranked in Python (``memory_sql.bm25``) and remembers that in a marker file in the data
dir, so later searches send one request.
"""

from __future__ import annotations

import json
import re

from .. import __version__, paths
from ..deeplake import sql
from ..errors import (
    AlreadyExists,
    AuthError,
    DeeplakeError,
    OutcomeUnknown,
    PaymentRequired,
    PermanentError,
    StoreError,
)
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

TYPE_CHECKING = False  # typing and httpx are not imported at run time (hook start-up time)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from ..deeplake.client import DeeplakeClient
    from ..deeplake.lite import LiteClient

_T = "TEXT NOT NULL DEFAULT ''"
#: Column definitions, exactly docs/deeplake-store.md's tables.
SCHEMAS: dict[str, list[tuple[str, str]]] = {
    "sessions": [
        ("id", _T),
        ("path", _T),
        ("filename", _T),
        ("message", "JSONB"),
        ("message_embedding", "FLOAT4[]"),
        ("author", _T),
        ("mime_type", "TEXT NOT NULL DEFAULT 'application/json'"),
        ("size_bytes", "BIGINT NOT NULL DEFAULT 0"),
        ("project", _T),
        ("description", _T),
        ("agent", _T),
        ("plugin_version", _T),
        ("creation_date", _T),
        ("last_update_date", _T),
    ],
    "skills": [
        ("id", _T),
        ("name", _T),
        ("project", _T),
        ("project_key", _T),
        ("local_path", _T),
        ("install", "TEXT NOT NULL DEFAULT 'global'"),
        ("source_sessions", "TEXT NOT NULL DEFAULT '[]'"),
        ("source_agent", _T),
        ("scope", "TEXT NOT NULL DEFAULT 'me'"),
        ("author", _T),
        ("contributors", "TEXT NOT NULL DEFAULT '[]'"),
        ("description", _T),
        ("trigger_text", _T),
        ("body", _T),
        ("version", "BIGINT NOT NULL DEFAULT 1"),
        ("created_at", _T),
        ("updated_at", _T),
    ],
    "memory": [
        ("id", _T),
        ("path", _T),
        ("filename", _T),
        ("summary", _T),
        ("summary_embedding", "FLOAT4[]"),
        ("author", _T),
        ("mime_type", "TEXT NOT NULL DEFAULT 'text/plain'"),
        ("size_bytes", "BIGINT NOT NULL DEFAULT 0"),
        ("project", _T),
        ("description", _T),
        ("agent", _T),
        ("plugin_version", _T),
        ("creation_date", _T),
        ("last_update_date", _T),
    ],
}


def _missing_relation(error: DeeplakeError) -> bool:
    text = str(error).lower()
    return "does not exist" in text and ("relation" in text or "column" in text or "table" in text)


#: What a read-only store sends: one SELECT (or WITH ... SELECT) statement.
_READ_STATEMENT = re.compile(r"\s*(SELECT|WITH)\b", re.IGNORECASE)
#: Words of an error that says the statement itself cannot run here (an operator, index type or
#: function the service lacks): retrying cannot help, even when it came as a 500.
_REFUSAL_WORDS = ("does not exist", "not supported", "unsupported", "syntax error", "not implemented")


class DeeplakeStatementRefused(PermanentError):
    """The service refused a statement it cannot run (``_REFUSAL_WORDS``), e.g. the BM25 ``<#>``
    operator on a service without it; raised at the first such answer, without retrying."""


def _refused(error: DeeplakeError) -> bool:
    if isinstance(error, (AuthError, PaymentRequired)):
        return False
    text = str(error).lower()
    return isinstance(error, DeeplakeStatementRefused) or (
        error.status is not None and error.status < 502 and any(w in text for w in _REFUSAL_WORDS)
    )


def _stop_on_refusal(attempt: int, error: DeeplakeError) -> None:
    """``on_retry`` hook: a refusal is final, stop retrying it."""
    if _refused(error):
        raise DeeplakeStatementRefused("Deeplake cannot run the statement", error.status, error.body)


def _json_list(value: Any) -> list[str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return [str(v) for v in value] if isinstance(value, list) else []


class DeeplakeStore(Store):
    """``Store`` on Deeplake. ``tables`` maps the logical names (sessions, skills,
    memory) to configured table names (each checked by ``sql.ident``)."""

    name = "deeplake"

    def __init__(
        self,
        client: DeeplakeClient | LiteClient,
        tables: dict[str, str] | None = None,
        visibility_wait_s: float | None = None,
        *,
        read_only: bool = False,
    ) -> None:
        """``read_only`` (the dashboard's pages): statements are sent as they are, tables are never
        created or healed (no DDL, no marker file), and a table that does not exist reads as no
        rows; a write statement is refused with StoreError before it is sent."""
        self.client = client
        self.read_only = read_only
        if visibility_wait_s is None:
            from .. import config

            visibility_wait_s = config.deeplake_visibility_wait_s()
        self.visibility_wait_s = visibility_wait_s
        self.tables = {**{k: k for k in SCHEMAS}, **(tables or {})}
        self._t = {k: sql.ident(v) for k, v in self.tables.items()}
        self._healed = False
        self.path = f"{client.creds.api_url}/workspaces/{client.creds.workspace}"

    # schema -----------------------------------------------------------------
    def _key(self) -> str:
        import hashlib  # only for marker names: a memory answer's path does not pay its import

        key = json.dumps(
            [
                self.client.creds.api_url,
                self.client.creds.org_id,
                self.client.creds.workspace,
                sorted(self.tables.items()),
                SCHEMAS,
            ],
            sort_keys=True,
        )
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def _marker(self):
        return paths.data_dir() / f"deeplake-schema-{self._key()}.ok"

    def ensure_tables(self, force: bool = False) -> list[str]:
        """Create missing tables and add missing columns. Returns the statements run
        (DDL only). Skipped when already done on this machine, unless ``force``."""
        marker = self._marker()
        if not force and (self._healed or marker.exists()):
            return []
        names = sql.in_list(self.tables.values())
        rows = self.client.query(
            "SELECT table_name, column_name FROM information_schema.columns "
            f"WHERE table_schema = current_schema() AND table_name IN {names}"
        )
        present: dict[str, set[str]] = {}
        for row in rows:
            present.setdefault(str(row.get("table_name")), set()).add(str(row.get("column_name")))
        statements = []
        for logical, columns in SCHEMAS.items():
            table, quoted = self.tables[logical], self._t[logical]
            if table not in present:
                cols = ", ".join(f"{sql.ident(c)} {d}" for c, d in columns)
                statements.append(f"CREATE TABLE IF NOT EXISTS {quoted} ({cols}) USING deeplake")
                continue
            for column, definition in columns:
                if column not in present[table]:
                    statements.append(f"ALTER TABLE {quoted} ADD COLUMN {sql.ident(column)} {definition}")
        for statement in statements:
            try:
                self.client.query(statement)
            except AlreadyExists:  # another process healed it first
                pass
        self._healed = True
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        except OSError:
            pass
        return statements

    def _q(
        self, text: str, *, retry_auth: bool = False, idempotent: bool = True, on_retry=None
    ) -> list[dict[str, Any]]:
        if self.read_only:
            return self._read_only_query(text)
        self.ensure_tables()
        try:
            return self.client.query(text, retry_auth=retry_auth, idempotent=idempotent, on_retry=on_retry)
        except DeeplakeError as exc:
            if not _missing_relation(exc):
                raise
            self.ensure_tables(force=True)
            return self.client.query(text, retry_auth=retry_auth, idempotent=idempotent, on_retry=on_retry)

    def _read_only_query(self, text: str) -> list[dict[str, Any]]:
        """``text`` on a read-only store: refused (StoreError) unless it is a SELECT (or a WITH
        query); a missing table answers no rows."""
        if not _READ_STATEMENT.match(text):
            raise StoreError("the store is open read-only: a write statement was refused")
        try:
            return self.client.query(text)
        except DeeplakeError as exc:
            if _missing_relation(exc):
                return []
            raise

    # sessions ---------------------------------------------------------------
    @staticmethod
    def _session_values(row: SessionRow) -> str:
        values = []
        for column in SESSION_COLUMNS:
            value = getattr(row, column)
            if column == "message":
                values.append(sql.jsonb(value))
            elif column == "message_embedding":
                values.append(
                    "NULL" if value is None else f"ARRAY[{', '.join(sql.literal(float(v)) for v in value)}]::FLOAT4[]"
                )
            else:
                values.append(sql.literal(value))
        return f"({', '.join(values)})"

    def stored_ids(self, rows: Sequence[SessionRow]) -> set[str]:
        """Which of ``rows``' ids are visible in the sessions table (one SELECT, narrowed by
        their session paths). Raises DeeplakeError."""
        if not rows:
            return set()
        found = self._q(
            f"SELECT id FROM {self._t['sessions']} WHERE path IN {sql.in_list({r.path for r in rows})} "
            f"AND id IN {sql.in_list([r.id for r in rows])}"
        )
        return {str(r.get("id")) for r in found}

    def append_session_rows(self, rows: Sequence[SessionRow], unsure: bool = False) -> None:
        """One multi-row INSERT (a session insert: 401 / HTML 403 retried). With ``unsure``, or
        after an insert whose outcome is unknown, the rows' ids are looked up first (after
        ``visibility_wait_s`` seconds plus the retry backoff) and only the missing rows are
        sent; at most ``client.max_retries`` such rounds.

        Raises OutcomeUnknown when the last round's outcome is still unknown, and the other
        DeeplakeError kinds.
        """
        pending = unique_rows(rows)
        uncertain = unsure  # some rows may be stored already: any failure from here on is "unknown"
        rounds = 0
        cols = ", ".join(sql.ident(c) for c in SESSION_COLUMNS)
        try:
            if pending and unsure:
                self.client.pause(self.visibility_wait_s)
                present = self.stored_ids(pending)
                pending = [r for r in pending if r.id not in present]
            while pending:
                statement = f"INSERT INTO {self._t['sessions']} ({cols}) VALUES " + ", ".join(
                    self._session_values(r) for r in pending
                )
                try:
                    self._q(statement, retry_auth=True, idempotent=False)
                    return
                except OutcomeUnknown:
                    uncertain = True
                    rounds += 1
                    if rounds > self.client.max_retries:
                        raise
                    self.client.pause(self.visibility_wait_s)
                    self.client.backoff(rounds)
                    present = self.stored_ids(pending)
                    pending = [r for r in pending if r.id not in present]
        except OutcomeUnknown:
            raise
        except DeeplakeError as exc:
            if uncertain:  # e.g. the lookup failed after an unknown outcome: never "known not applied"
                raise OutcomeUnknown(f"outcome unknown ({exc})", exc.status) from exc
            raise

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
        """Rows at ``path`` oldest first (creation_date, then id); only message ``types``
        when given; with ``mentions``, tool_call rows only when their message contains it
        (a ``LIKE`` with ``ESCAPE``); with ``after = (creation_date, id)``, only rows after that
        pair; ``limit`` and ``message_bytes`` as ``Store.session_rows`` (the total and last date in
        the same statement, a CTE on the same filters). One SELECT."""
        cols = ", ".join(sql.ident(c) for c in SESSION_COLUMNS)
        where = f"{sql.ident('path')} = {sql.literal(path)}"
        if types:
            where += f" AND message->>'type' IN {sql.in_list(types)}"
        if mentions:
            where += (
                f" AND (message->>'type' <> 'tool_call' OR CAST(message AS TEXT) LIKE {sql.like_contains(mentions)})"
            )
        if after is not None:
            date, rid = sql.literal(after[0]), sql.literal(after[1])
            where += f" AND (creation_date > {date} OR (creation_date = {date} AND id > {rid}))"
        table = self._t["sessions"]
        if limit is None and message_bytes is None:
            rows = self._q(f"SELECT {cols} FROM {table} WHERE {where} ORDER BY creation_date, id")
            return unique_rows(self._session_row(r) for r in rows)
        bounded = message_bytes is not None
        cols = ", ".join(
            f"NULL AS {sql.ident(c)}" if bounded and c in ("message", "message_embedding") else f"s.{sql.ident(c)}"
            for c in SESSION_COLUMNS
        )
        if message_bytes is not None:
            exprs = msql.bounded_message_sql(msql.PgDialect(self._t), message_bytes, "s.message")
            names = ("b_message", "b_bytes", *(f"cut_{k}" for k in msql.CUT_FIELDS))
            cols += "".join(f", {expr} AS {name}" for expr, name in zip(exprs, names))
        if limit is None:
            rows = self._q(f"SELECT {cols} FROM {table} s WHERE {where} ORDER BY s.creation_date, s.id")
            return unique_rows(self._session_row(r) for r in rows)
        count = f"SELECT COUNT(DISTINCT id) AS n_total, MAX(creation_date) AS n_last FROM {table} WHERE {where}"
        if limit <= 0:  # the count alone
            got = self._q(count)
        else:  # the page's ids chosen on plain columns, each id once (a re-sent row may be stored twice)
            first = (
                f"SELECT id, creation_date, row_number() OVER (PARTITION BY id ORDER BY creation_date) AS k "
                f"FROM {table} WHERE {where}"
            )
            got = self._q(
                f"WITH n AS ({count}), p AS (SELECT id, creation_date FROM ({first}) AS r WHERE k = 1 "
                f"ORDER BY creation_date, id LIMIT {int(limit)}) SELECT n.n_total, n.n_last, {cols} "
                f"FROM n, {table} s JOIN p ON s.id = p.id AND s.creation_date = p.creation_date "
                "ORDER BY s.creation_date, s.id"
            )
        total, last = (got[0].get("n_total"), got[0].get("n_last")) if got else (0, "")
        rows = [] if limit <= 0 else got
        return SessionRowsPage(unique_rows(self._session_row(r) for r in rows), int(total or 0), str(last or ""))

    @staticmethod
    def _session_row(r: dict[str, Any]) -> SessionRow:
        message = r.get("b_message") if "b_bytes" in r else r.get("message")
        if isinstance(message, str):
            try:
                message = json.loads(message)
            except (ValueError, RecursionError):
                message = {}
        if message is None and r.get("b_bytes") is not None:  # longer than the bound: its cut fields
            message = msql.cut_message(r.get("b_bytes"), {k: r.get(f"cut_{k}") for k in msql.CUT_FIELDS})
        data: dict[str, Any] = {c: r.get(c) for c in SESSION_COLUMNS}  # column -> value, mixed types
        data["message"] = message if isinstance(message, dict) else {}
        for text_col in (
            "id",
            "path",
            "filename",
            "author",
            "mime_type",
            "project",
            "description",
            "agent",
            "plugin_version",
            "creation_date",
            "last_update_date",
        ):
            data[text_col] = "" if data[text_col] is None else str(data[text_col])
        data["size_bytes"] = int(data["size_bytes"] or 0)
        emb = data.pop("message_embedding")
        return SessionRow(**data, message_embedding=list(emb) if isinstance(emb, list) else None)

    def list_sessions(self, limit: int = 50, prefix: str | None = None) -> list[dict[str, Any]]:
        """Recent sessions newest first with their rows' event types (under ``prefix`` when given;
        one GROUP BY query)."""
        where = f"WHERE {msql.PgDialect(self._t).prefix('path', prefix)} " if prefix else ""
        rows = self._q(
            f"SELECT path, message->>'session_id' AS session_id, message->>'type' AS type, COUNT(DISTINCT id) AS n, "
            f"MIN(creation_date) AS first, MAX(creation_date) AS last, MIN(agent) AS agent FROM {self._t['sessions']} "
            f"{where}GROUP BY path, message->>'session_id', message->>'type'"
        )
        sessions: dict[str, dict[str, Any]] = {}
        for r in rows:
            s = sessions.setdefault(
                r["path"],
                {
                    "path": r["path"],
                    "session_id": r.get("session_id"),
                    "rows": 0,
                    "types": {},
                    "first": r["first"],
                    "last": r["last"],
                    "agent": r.get("agent") or "",
                },
            )
            s["rows"] += int(r["n"])
            s["types"][r.get("type") or ""] = s["types"].get(r.get("type") or "", 0) + int(r["n"])
            s["first"], s["last"] = min(s["first"], r["first"]), max(s["last"], r["last"])
            s["session_id"] = s["session_id"] or r.get("session_id")
        return sorted(sessions.values(), key=lambda s: s["last"], reverse=True)[:limit]

    def activity(self, since: str, day_start: str) -> list[dict[str, Any]]:
        """Events and sessions per (author, agent) since ``since``, and since ``day_start``
        (``Store.activity``): one SELECT, one request (``memory_sql.activity_sql``). Raises
        DeeplakeError."""
        if not msql.storable(since, day_start):
            return []
        rows = self._q(msql.activity_sql(msql.PgDialect(self._t), since, day_start))
        return msql.activity([r.get(c) for c in msql.ACTIVITY_COLS] for r in rows)

    def session_list(self, query: SessionListQuery) -> list[dict[str, Any]]:
        """One page of the sessions ``query`` selects, newest first (``Store.session_list``): one
        SELECT, one request (``memory_sql.session_list_sql``). Raises DeeplakeError."""
        if query.limit <= 0 or not msql.storable(query.user, query.agent, query.project, query.since, query.until):
            return []
        rows = self._q(msql.session_list_sql(msql.PgDialect(self._t), query))
        return msql.session_list([r.get(c) for c in msql.SESSION_LIST_COLS] for r in rows)

    # skills -----------------------------------------------------------------
    @staticmethod
    def _skill_row(r: dict[str, Any]) -> SkillRow:
        data: dict[str, Any] = {c: r.get(c) for c in SKILL_COLUMNS}  # column -> value, mixed types
        for c in SKILL_COLUMNS:
            if c not in ("version", "source_sessions", "contributors"):
                data[c] = "" if data[c] is None else str(data[c])
        data["source_sessions"] = _json_list(data["source_sessions"])
        data["contributors"] = _json_list(data["contributors"])
        data["version"] = int(data["version"] or 1)
        return SkillRow(**data)

    def current_skill(self, name: str, author: str) -> SkillRow | None:
        """The current team version of ``(name, author)``: ``ORDER BY version DESC, created_at,
        id`` (``base.winner_key``)."""
        cols = ", ".join(sql.ident(c) for c in SKILL_COLUMNS)
        rows = self._q(
            f"SELECT {cols} FROM {self._t['skills']} WHERE name = {sql.literal(name)} "
            f"AND author = {sql.literal(author)} AND scope <> 'proposal' "
            "ORDER BY version DESC, created_at ASC, id ASC LIMIT 1"
        )
        return self._skill_row(rows[0]) if rows else None

    def latest_skills(self, scope: str | None = "team") -> list[SkillRow]:
        """The current version of every skill (of ``scope``)."""
        cols = ", ".join(sql.ident(c) for c in SKILL_COLUMNS)
        where = f" WHERE scope = {sql.literal(scope)}" if scope else ""
        rows = self._q(
            f"SELECT {cols} FROM {self._t['skills']}{where} ORDER BY name, author, version DESC, created_at ASC, id ASC"
        )
        latest: dict[tuple[str, str], SkillRow] = {}
        for r in rows:
            row = self._skill_row(r)
            latest.setdefault((row.name, row.author), row)
        return list(latest.values())

    def skill_rows(
        self, name: str | None = None, author: str | None = None, scope: str | None = None, *, bodies: bool = True
    ) -> list[SkillRow]:
        """Every matching skills row, by name, author, version, created_at, id (one SELECT);
        ``bodies=False``: ``body`` is ``""``, not read (``Store.skill_rows``)."""
        cols = ", ".join(sql.ident(c) if bodies or c != "body" else f"'' AS {sql.ident(c)}" for c in SKILL_COLUMNS)
        where = [
            f"{sql.ident(c)} = {sql.literal(v)}"
            for c, v in (("name", name), ("author", author), ("scope", scope))
            if v is not None
        ]
        rows = self._q(
            f"SELECT {cols} FROM {self._t['skills']}"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY name, author, version, created_at, id"
        )
        return [self._skill_row(r) for r in rows]

    def delete_skill_rows(self, ids: Sequence[str]) -> None:
        """``DELETE FROM skills WHERE id IN (...)``."""
        if ids:
            self._q(f"DELETE FROM {self._t['skills']} WHERE id IN {sql.in_list(ids)}")

    def _forget_where(self, table: str, where: SessionFilter) -> str | None:
        """The condition of ``where`` on ``table`` (``memory_sql.forget_where``: values through
        ``lakeloop.deeplake.sql``, ``ILIKE`` with ``%``/``_`` escaped), None when no row of the
        table can match. Raises ValueError (empty filter)."""
        if where.empty:
            raise ValueError("refusing a filter that matches every captured row")
        return msql.forget_where(msql.PgDialect(self._t), table, where.session_id, where.before, where.match)

    def count_session_rows(self, where: SessionFilter) -> int:
        """``SELECT COUNT(DISTINCT id)`` of the rows ``where`` matches."""
        rows = self._q(
            f"SELECT COUNT(DISTINCT id) AS n FROM {self._t['sessions']} WHERE {self._forget_where('sessions', where)}"
        )
        return int(rows[0]["n"]) if rows else 0

    def delete_session_rows(self, where: SessionFilter) -> None:
        """``DELETE FROM sessions WHERE ...`` (the API's DELETE statement)."""
        self._q(f"DELETE FROM {self._t['sessions']} WHERE {self._forget_where('sessions', where)}")

    def memory_rows_matching(self, where: SessionFilter) -> list[tuple[str, int]]:
        """``[(path, rows)]`` of the memory rows ``where`` matches, by path (one SELECT; none when
        no memory row can match)."""
        clause = self._forget_where("memory", where)
        if clause is None:
            return []
        rows = self._q(
            f"SELECT path, COUNT(*) AS n FROM {self._t['memory']} WHERE {clause} GROUP BY path ORDER BY path"
        )
        return [(str(r["path"]), int(r["n"])) for r in rows]

    def delete_memory_rows(self, where: SessionFilter) -> None:
        """``DELETE FROM memory WHERE ...`` (nothing sent when no memory row can match)."""
        clause = self._forget_where("memory", where)
        if clause is not None:
            self._q(f"DELETE FROM {self._t['memory']} WHERE {clause}")

    def insert_skill(self, row: SkillRow) -> None:
        """INSERT one skill version row (append-only)."""
        values = []
        for column in SKILL_COLUMNS:
            value = getattr(row, column)
            if column in ("source_sessions", "contributors"):
                value = json.dumps(value)
            values.append(sql.literal(value))
        cols = ", ".join(sql.ident(c) for c in SKILL_COLUMNS)
        self._q(f"INSERT INTO {self._t['skills']} ({cols}) VALUES ({', '.join(values)})")

    # memory path ----------------------------------------------------
    def memory_query(self, query: MemoryQuery) -> list[MemoryRecord]:
        """Answer ``query`` (``memory_types``) with ONE SELECT, i.e. one request ([] and no
        request when ``query.empty``). Session line text = ``CAST(message AS TEXT)``; narrowing
        = ``ILIKE`` of any literal (a superset of ASCII case folding). With ``rank``, candidate
        lines are scored here with ``memory_sql.bm25`` over the returned candidates (literal
        occurrences, ASCII case-insensitive, saturated and normalised by the line's length
        against the candidates' mean: BM25 with k1=1.2, b=0.75). Raises DeeplakeError."""
        if query.empty:
            return []
        d = msql.PgDialect(self._t)
        ctes: list[str] = []
        parts: list[str] = []
        if query.content:
            msql.lines_scan(query, d, ctes, parts)
            msql.limit_lines(query, parts, len(parts))  # scores are 0 in SQL here: first by path
        msql.shared_parts(query, d, ctes, parts)
        text = msql.statement(ctes, parts)
        if not text:
            return []
        rows = self._q(text)
        return msql.records(([r.get(c) for c in msql.COLS] for r in rows), query.literals if query.rank else None)

    def insert_note(self, row: NoteRow) -> None:
        """INSERT one memory-table row (``memory_sql.note_values``: author, project, both dates
        = ``row.date``, filename, UTF-8 size, mime type, description, agent). Retried like a
        read on a transient failure: a second copy of the same id holds the same path, text and
        date, and readers keep one row per path. Raises DeeplakeError."""
        values = msql.note_values(row, __version__)
        cols = ", ".join(sql.ident(c) for c in msql.MEMORY_COLUMNS)
        vals = ", ".join(sql.literal(values[c]) for c in msql.MEMORY_COLUMNS)
        self._q(f"INSERT INTO {self._t['memory']} ({cols}) VALUES ({vals})")

    def recent_docs(self, prefix: str, project: str | None, limit: int = 8) -> list[MemoryRecord]:
        """The newest memory row of each path under ``prefix`` of ``project`` (None: any), newest first, at most
        ``limit`` (``memory_sql.recent_docs_sql``): one SELECT, one request. Raises DeeplakeError."""
        rows = self._q(msql.recent_docs_sql(msql.PgDialect(self._t), prefix, project, limit))
        return msql.recent_records([r.get(c) for c in msql.COLS] for r in rows)

    def outcome_uses(self, ref: str) -> list[OutcomeUse]:
        """The outcome rows of ``ref`` grouped by (path, description) (``Store.outcome_uses``;
        ``memory_sql.outcome_uses_sql``): one SELECT, one request. Raises DeeplakeError."""
        rows = self._q(msql.outcome_uses_sql(msql.PgDialect(self._t), ref))
        return msql.outcome_uses(([r.get(c) for c in ("path", "description", "used_at", "n")] for r in rows), ref)

    def put_memory_doc(self, row: NoteRow, *, unsure: bool = False, supersede: bool = False) -> None:
        """Write ``row`` exactly once by id, then (``supersede``) delete the other rows at its path.

        The INSERT is sent as a non-idempotent request: when its outcome is unknown (a 5xx, a
        connection lost after sending) it is not re-sent blindly; after ``visibility_wait_s`` one
        SELECT looks the id up and only a missing row is sent again (at most
        ``client.max_retries`` rounds, as for session rows). ``unsure`` (an earlier attempt may
        have written it) looks the id up before the first INSERT, without waiting: an attempt is
        retaken only after its lease lapsed, longer than the visibility lag. ``supersede`` then
        sends ``DELETE ... WHERE path = <path> AND id <> <id>``, so readers see one version.
        The normal path is one request (two with ``supersede``). Raises DeeplakeError
        (``OutcomeUnknown`` when the last round's outcome is still unknown)."""
        values = msql.note_values(row, __version__)
        cols = ", ".join(sql.ident(c) for c in msql.MEMORY_COLUMNS)
        insert = (
            f"INSERT INTO {self._t['memory']} ({cols}) VALUES "
            f"({', '.join(sql.literal(values[c]) for c in msql.MEMORY_COLUMNS)})"
        )
        where = f"path = {sql.literal(row.path)}"

        def stored() -> bool:
            return bool(self._q(f"SELECT id FROM {self._t['memory']} WHERE {where} AND id = {sql.literal(row.id)}"))

        present = unsure and stored()
        rounds = 0
        while not present:
            try:
                self._q(insert, idempotent=False)
                break
            except OutcomeUnknown:
                rounds += 1
                if rounds > self.client.max_retries:
                    raise
                self.client.pause(self.visibility_wait_s)
                self.client.backoff(rounds)
                present = stored()
        if supersede:
            self._q(f"DELETE FROM {self._t['memory']} WHERE {where} AND id <> {sql.literal(row.id)}")

    def _search_marker(self):
        return paths.data_dir() / f"deeplake-search-{self._key()}"

    def _search_mode(self) -> str:
        """``bm25`` or ``ilike`` as remembered on this machine, ``""`` when not tried yet."""
        try:
            return self._search_marker().read_text(encoding="utf-8").strip()
        except OSError:
            return ""

    def _remember_search_mode(self, mode: str) -> None:
        try:
            marker = self._search_marker()
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(mode + "\n", encoding="utf-8")
        except OSError:
            pass

    @staticmethod
    def _unsupported(exc: DeeplakeError) -> bool:
        """The service cannot run the BM25 statement: a refusal, or any permanent error but
        credentials and credits."""
        return _refused(exc) or (isinstance(exc, PermanentError) and not isinstance(exc, (AuthError, PaymentRequired)))

    def _create_bm25_indexes(self) -> None:
        """``CREATE INDEX IF NOT EXISTS`` the BM25 indexes of ``memory.summary`` and
        ``skills.body`` (TEXT columns); a refusal is ignored (the search then says)."""
        for logical, column in (("memory", "summary"), ("skills", "body")):
            name = sql.ident(f"{self.tables[logical]}_{column}_bm25"[:63])
            try:
                self._q(
                    f"CREATE INDEX IF NOT EXISTS {name} ON {self._t[logical]} USING deeplake_index "
                    f"({sql.ident(column)}) WITH (index_type = 'bm25')",
                    on_retry=_stop_on_refusal,
                )
            except DeeplakeError as exc:
                if not self._unsupported(exc) and not isinstance(exc, AlreadyExists):
                    raise

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
        """The ``limit`` best matches for the words of ``query``, best first; ``user``/``project``
        keep only rows of that author/project (sessions, notes, skills); ``agent``/``since`` as
        ``Store.search`` (with ``agent``, session lines only). BM25 with the service's
        ``<#>`` (higher = better, as Deeplake's SQL reference says) on the session message text,
        note summaries and skill bodies; when the service refuses the operator or index (a
        permanent error, e.g. PostgreSQL's "operator does not exist"), ``ILIKE`` per word OR-ed,
        ranked here with ``memory_sql.bm25`` over the returned rows, and that choice is kept in
        a marker file (one request per search from then on). A read-only store creates no index
        and writes no marker: until a writable store has chosen, it searches with ``ILIKE``.
        Raises DeeplakeError."""
        words = msql.search_words(query)
        if not words or limit <= 0 or not msql.storable(agent, since):  # such a filter matches nothing
            return []
        mode = self._search_mode()
        if not mode and self.read_only:  # the dashboard: no index created, one statement a search
            mode = "ilike"
        if mode != "ilike":
            if not mode:
                self._create_bm25_indexes()
            try:
                rows = self._q(
                    msql.pg_search(
                        msql.PgDialect(self._t), words, limit, user, project, True, agent=agent, since=since
                    ),
                    on_retry=_stop_on_refusal,
                )
            except DeeplakeError as exc:
                if not self._unsupported(exc):
                    raise
                if not self.read_only:
                    self._remember_search_mode("ilike")
            else:
                if not mode and not self.read_only:
                    self._remember_search_mode("bm25")
                return msql.hits(([r.get(c) for c in msql.COLS] for r in rows), words, limit, rank_here="none")
        rows = self._q(
            msql.pg_search(msql.PgDialect(self._t), words, limit, user, project, False, agent=agent, since=since)
        )
        return msql.hits(([r.get(c) for c in msql.COLS] for r in rows), words, limit, rank_here="all")

    def close(self) -> None:
        """The shared client stays open for the rest of the process."""
