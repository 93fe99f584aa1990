"""SQL of the memory path (``Store.memory_query``, ``Store.search``) for both stores, and the
shared handling of their answers.

One builder writes both dialects; a dialect object says how a value, a path prefix, a JSON
field and a case-insensitive "contains" are written:

* ``SqliteDialect``: bound parameters (collected in ``params``), prefixes as byte-order ranges
  (``path >= p AND path < p'``, exact and index-friendly: no LIKE, so ``_``/``%`` are plain),
  ``instr(lower(x), lower(?))`` (ASCII case folding, as SQLite's ``lower``).
* ``PgDialect`` (Deeplake): every value through ``lakeloop.deeplake.sql`` (``literal``,
  ``like_contains``, ``ident``); prefixes as ``left(path, n) = '<prefix>'`` (exact whatever the
  collation, nothing to escape), ``ILIKE`` (a superset of ASCII case folding).

Every statement answers rows of ``COLS``: ``kind, path, text, line, author, project, date, score,
hit, note`` (``hit`` = 1 for a candidate line of a narrowed query; ``note`` = a session's summary
path on /index.md's SESSION rows, ``''`` elsewhere). Built here: the skills, memory-table, listing
and index parts (``shared_parts``), session lines by scanning (``lines_scan``: Deeplake, and the
embedded store without a usable FTS index), a project's recent summaries (``recent_docs_sql``),
a skill's outcome rows (``outcome_uses_sql``, rows of its own shape), ``search``'s parts, and the
dashboard's activity and session list (``activity_sql``, ``session_list_sql``); the embedded
store's FTS5 route lives with it.

Post-processing (``records``): a session line's text with a raw newline is re-serialised on one
line (``json.dumps(obj, ensure_ascii=False)``, lakeloop's own format); repeated ``(path, line)``
are dropped (repeated ids share a line number); records whose path is not a clean absolute path
(empty, ``.`` or ``..`` components, control characters) are dropped; scores missing from the
store are computed with ``bm25`` over the returned candidate lines.
"""

from __future__ import annotations

import json
import math
import re

from .memory_types import DOC, ENTRY, LINE, SESSION, SKILL, MemoryQuery, MemoryRecord, NoteRow, SearchHit

TYPE_CHECKING = False  # typing is not imported at run time (hook start-up time)
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any

    from .base import OutcomeUse, SessionListQuery

#: Column order of every memory statement's rows.
COLS = ("kind", "path", "text", "line", "author", "project", "date", "score", "hit", "note")
#: Columns of the memory table (docs/deeplake-store.md), in order.
MEMORY_COLUMNS = (
    "id",
    "path",
    "filename",
    "summary",
    "summary_embedding",
    "author",
    "mime_type",
    "size_bytes",
    "project",
    "description",
    "agent",
    "plugin_version",
    "creation_date",
    "last_update_date",
)
#: Sessions shown in /index.md; characters kept of a session's first prompt.
INDEX_SESSIONS = 50
FIRST_PROMPT_CHARS = 300
#: Where session summaries live (``/summaries/<user>/<session id>.md``, memory-table rows), and how
#: much of one /index.md reads (its "What Happened" section comes right after the header).
SUMMARIES_DIR = "/summaries/"
INDEX_SUMMARY_CHARS = 2000
#: Where outcome rows live (``/outcomes/<skill ref>/<use id>.json``, memory-table rows) and the
#: one format of their ``description``: ``lakeloop-outcome v=<version or -> verdict=<verdict>``.
OUTCOMES_DIR = "/outcomes/"
OUTCOME_DESCRIPTION_RE = re.compile(
    r"lakeloop-outcome v=([1-9][0-9]{0,8}|-) verdict=(failure|success|unclear|no_pushback)"
)
#: Where skillify records settled procedures (``/skillify/<rejected|accepted>/<fingerprint>.json``).
SKILLIFY_DIR = "/skillify/"
#: Memory-table paths the memory path and ``search`` never show: ones that would shadow generated
#: files, and lakeloop's own records (outcomes, skillify's decisions) (dirs end in ``/``).
HIDDEN_NOTE_PATHS = (
    "/sessions/",
    "/skills/",
    "/index.md",
    "/sessions",
    "/skills",
    "/",
    OUTCOMES_DIR,
    "/outcomes",
    SKILLIFY_DIR,
    "/skillify",
)
#: ``search``: most candidate rows ranked in Python (newest first) when the store has no BM25.
SEARCH_CANDIDATES = 2000
#: ``search`` on the embedded store: most characters of one session line returned with a hit (a
#: window starting a little before the first word's first case-sensitive occurrence, else at the
#: start), so 50 hits on lines of megabytes never hold gigabytes.
HIT_TEXT_CHARS = 262_144
SEARCH_WORDS = 16
SNIPPET_CHARS = 200
BM25_K1, BM25_B = 1.2, 0.75

_BAD_PATH_CHARS = re.compile(r"[\x00-\x1f\x7f]")
#: SQLite function (registered by the embedded store for ``lakeloop forget``): ``str.casefold``.
FOLD_FUNCTION = "lakeloop_casefold"


# dialects ---------------------------------------------------------------------------------------
class SqliteDialect:
    """SQLite: bound parameters; ``params`` collects them (numbered placeholders)."""

    name = "sqlite"
    zero = "0.0"

    def __init__(self, tables: dict[str, str] | None = None) -> None:
        self.params: list[Any] = []
        self.recursive = False  # set when a CTE is recursive: the statement says WITH RECURSIVE
        self.t = {"sessions": "sessions", "skills": "skills", "memory": "memory", **(tables or {})}
        self.matcher_sql: str | None = None  # name of a registered MemoryQuery.matcher function

    def lit(self, value: Any) -> str:
        """A numbered placeholder for ``value`` (``?N``: parts may be assembled in any order)."""
        self.params.append(value)
        return f"?{len(self.params)}"

    def prefix(self, col: str, prefix: str) -> str:
        """``col`` is ``prefix`` (a file) or lies under it (``prefix`` ends in ``/``)."""
        if not prefix.endswith("/"):
            return f"{col} = {self.lit(prefix)}"
        if prefix == "/":
            return "1 = 1"
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # BINARY collation: UTF-8 byte = code point order
        return f"({col} >= {self.lit(prefix)} AND {col} < {self.lit(upper)})"

    def json_text(self, col: str, key: str) -> str:
        """``col``'s top-level ``key`` as text (NULL when absent or ``col`` is not JSON)."""
        return f"(CASE WHEN json_valid({col}) THEN json_extract({col}, '$.{key}') END)"

    def message(self, col: str) -> str:
        """The message JSON text of sessions column ``col``."""
        return col

    def session_user(self, col: str) -> str:
        """The user component of session path ``col`` (``alice`` of ``/sessions/alice/x.jsonl``)."""
        return f"substr({col}, 11, instr(substr({col}, 11), '/') - 1)"

    def contains(self, col: str, text: str, exact: bool = False) -> str:
        """``col`` contains ``text``: ASCII case-insensitively, or as written with ``exact``."""
        if exact:
            return f"instr({col}, {self.lit(text)}) > 0"
        return f"instr(lower({col}), lower({self.lit(text)})) > 0"

    def folded_contains(self, col: str, text: str) -> str:
        """``col`` contains ``text`` ignoring case (Unicode case folding: ``str.casefold``, through
        the ``FOLD_FUNCTION`` the connection must have registered)."""
        return f"instr({FOLD_FUNCTION}({col}), {self.lit(text.casefold())}) > 0"

    def suffix(self, col: str, suffix: str) -> str:
        """``col`` ends with ``suffix`` (as written; ``suffix`` non-empty)."""
        return f"substr({col}, -{len(suffix)}) = {self.lit(suffix)}"

    def indexed(self, table: str, index: str) -> str:
        """``table`` read through ``index`` (``INDEXED BY``: SQLite's planner has no statistics
        and would otherwise prefer an index that saves a sort over one that saves reading rows)."""
        return f"{table} INDEXED BY {index}"


class PgDialect(SqliteDialect):
    """PostgreSQL (Deeplake): literals and LIKE patterns from ``lakeloop.deeplake.sql``;
    ``tables`` maps the logical names to quoted identifiers."""

    name = "pg"
    zero = "CAST(0 AS DOUBLE PRECISION)"

    def __init__(self, tables: dict[str, str]) -> None:
        super().__init__(tables)

    def lit(self, value: Any) -> str:
        from ..deeplake import sql

        return sql.literal(value)

    def prefix(self, col: str, prefix: str) -> str:
        from ..deeplake import sql

        if not prefix.endswith("/"):
            return f"{col} = {sql.literal(prefix)}"
        if prefix == "/":
            return "TRUE"
        return f"left({col}, {len(sql.clean(prefix))}) = {sql.literal(prefix)}"

    def json_text(self, col: str, key: str) -> str:
        from ..deeplake import sql

        return f"({col}->>{sql.literal(key)})"

    def message(self, col: str) -> str:
        return f"CAST({col} AS TEXT)"

    def session_user(self, col: str) -> str:
        return f"split_part({col}, '/', 3)"

    def contains(self, col: str, text: str, exact: bool = False) -> str:
        """``col`` contains ``text``: ``ILIKE``, or ``LIKE`` (as written, cheaper) with ``exact``."""
        from ..deeplake import sql

        return f"{col} {'LIKE' if exact else 'ILIKE'} {sql.like_contains(text)}"

    def folded_contains(self, col: str, text: str) -> str:
        """``col`` contains ``text`` ignoring case: ``ILIKE`` (``%``, ``_`` and ``\\`` escaped)."""
        return self.contains(col, text)

    def suffix(self, col: str, suffix: str) -> str:
        from ..deeplake import sql

        return f"right({col}, {len(sql.clean(suffix))}) = {sql.literal(suffix)}"

    def indexed(self, table: str, index: str) -> str:
        return table


# prefixes ---------------------------------------------------------------------------------------
def scoped(prefixes: Iterable[str], root: str) -> list[str]:
    """The parts of ``prefixes`` inside directory ``root`` (ends in ``/``): a prefix that
    contains ``root`` becomes ``root``; one inside it stays; others go. Sorted, unique."""
    out = set()
    for p in prefixes:
        if p.endswith("/") and root.startswith(p):
            out.add(root)
        elif p.startswith(root):
            out.add(p)
    return sorted(out)


def any_prefix(d: SqliteDialect, col: str, prefixes: Sequence[str]) -> str:
    """``col`` matches one of ``prefixes`` (``TRUE``-like when one is ``/``)."""
    if "/" in prefixes:
        return d.prefix(col, "/")
    return "(" + " OR ".join(d.prefix(col, p) for p in prefixes) + ")"


def not_hidden(d: SqliteDialect, col: str) -> str:
    """``col`` is not a path the memory path and ``search`` keep out (``HIDDEN_NOTE_PATHS``)."""
    return " AND ".join(f"NOT {d.prefix(col, p)}" if p != "/" else f"{col} <> {d.lit('/')}" for p in HIDDEN_NOTE_PATHS)


def skill_path_sql(name: str = "name", author: str = "author") -> str:
    """SQL of a skill's virtual path ``/skills/<name>--<author>/SKILL.md``."""
    return f"('/skills/' || {name} || '--' || {author} || '/SKILL.md')"


def _select(
    d: SqliteDialect,
    kind: str,
    path: str,
    text: str = "''",
    line: str = "0",
    author: str = "''",
    project: str = "''",
    date: str = "''",
    score: str | None = None,
    hit: str = "0",
    note: str = "''",
) -> str:
    """``SELECT`` of one part's columns (``COLS``), each given as SQL."""
    return (
        f"SELECT '{kind}' AS kind, {path} AS path, {text} AS text, {line} AS line, {author} AS author, "
        f"{project} AS project, {date} AS date, {score or d.zero} AS score, {hit} AS hit, {note} AS note"
    )


# memory_query: the parts both stores share --------------------------------------------------------
def shared_parts(q: MemoryQuery, d: SqliteDialect, ctes: list[str], parts: list[str]) -> None:
    """Append the CTEs and SELECTs of ``q``'s non-line parts: session listing, skills (DOC,
    ENTRY, SKILL), memory-table rows (DOC, ENTRY) and the /index.md sessions (SESSION)."""
    t = d.t
    sess = scoped(q.prefixes, "/sessions/")
    if q.listing and sess:
        ctes.extend(session_paths(d, "mq_sp", sess))
        parts.append(_select(d, ENTRY, "path") + " FROM mq_sp")
    skills = scoped(q.prefixes, "/skills/") if (q.listing or q.content) else []
    if skills or q.index:
        ctes.append(
            f"mq_sk AS (SELECT name, author, project, body, description, version, created_at, "
            f"row_number() OVER (PARTITION BY name, author ORDER BY version DESC, created_at ASC, id ASC) AS rn "
            f"FROM {t['skills']} WHERE scope = 'team')"
        )
        where = "FROM mq_sk WHERE rn = 1"
        if skills:
            in_scope = f"{where} AND {any_prefix(d, skill_path_sql(), skills)}"
            if q.content:
                parts.append(
                    _select(d, DOC, skill_path_sql(), "body", author="author", project="project", date="created_at")
                    + " "
                    + in_scope
                )
            if q.listing:
                parts.append(_select(d, ENTRY, skill_path_sql()) + " " + in_scope)
        if q.index:
            parts.append(
                _select(
                    d,
                    SKILL,
                    skill_path_sql(),
                    "description",
                    line="version",
                    author="author",
                    project="project",
                    date="created_at",
                )
                + " "
                + where
            )
    notes = (
        sorted(
            {
                p
                for p in q.prefixes
                if not p.startswith(("/sessions/", "/skills/")) and p not in ("/index.md", "/sessions", "/skills")
            }
        )
        if (q.listing or q.content)
        else []
    )
    if notes:
        ctes.append(
            f"mq_mem AS (SELECT path, summary, author, project, "
            f"CASE WHEN last_update_date <> '' THEN last_update_date ELSE creation_date END AS date, "
            f"row_number() OVER (PARTITION BY path ORDER BY last_update_date DESC, creation_date DESC, id DESC) AS rn "
            f"FROM {t['memory']} WHERE {any_prefix(d, 'path', notes)} AND {not_hidden(d, 'path')})"
        )
        if q.content:
            parts.append(
                _select(d, DOC, "path", "summary", author="author", project="project", date="date")
                + " FROM mq_mem WHERE rn = 1"
            )
        if q.listing:
            parts.append(_select(d, ENTRY, "path") + " FROM mq_mem WHERE rn = 1")
    if q.index:
        index_sessions(d, ctes, parts)


def session_paths(d: SqliteDialect, name: str, prefixes: Sequence[str]) -> list[str]:
    """CTEs ending in ``name(path)``: the distinct session paths matching ``prefixes``. SQLite:
    a skip scan of the ``(path, ...)`` index per directory prefix (one seek per path instead of
    reading every row's entry); PostgreSQL: ``SELECT DISTINCT``."""
    t = d.t["sessions"]
    if d.name != "sqlite":
        return [f"{name} AS (SELECT DISTINCT path FROM {t} WHERE {any_prefix(d, 'path', prefixes)})"]
    ctes, unions = [], []
    exact = [p for p in prefixes if not p.endswith("/")]
    if exact:
        unions.append(f"SELECT DISTINCT path FROM {t} WHERE path IN ({', '.join(d.lit(p) for p in exact)})")
    for i, p in enumerate(x for x in prefixes if x.endswith("/")):
        lo, hi = d.lit(p), d.lit(p[:-1] + chr(ord(p[-1]) + 1))
        step = f"{name}_{i}"
        ctes.append(
            f"{step}(path) AS (SELECT MIN(path) FROM {t} WHERE path >= {lo} AND path < {hi} UNION ALL "
            f"SELECT (SELECT MIN(x.path) FROM {t} x WHERE x.path > {step}.path AND x.path < {hi}) "
            f"FROM {step} WHERE {step}.path IS NOT NULL)"
        )
        unions.append(f"SELECT path FROM {step} WHERE path IS NOT NULL")
    d.recursive = d.recursive or bool(ctes)
    return ctes + [f"{name}(path) AS ({' UNION '.join(unions)})"]


def index_sessions(d: SqliteDialect, ctes: list[str], parts: list[str]) -> None:
    """The SESSION part: the ``INDEX_SESSIONS`` latest sessions (latest creation_date, newest
    first), each with the author and project of its first user message (else of its first row)
    and, as its text, its summary (the newest memory row at ``summary_path_sql``, cut to
    ``INDEX_SUMMARY_CHARS``; its path in ``note``) or, without one, that message's content cut to
    ``FIRST_PROMPT_CHARS`` (``note`` ``''``). SQLite picks that row per path with index seeks
    (only the chosen rows' JSON is parsed); PostgreSQL with ``row_number()``. The summaries are
    read by path (a LEFT JOIN on the newest row of each), in the same statement."""
    t = d.t["sessions"]
    kind = d.json_text("s.message", "type")
    first = (
        f"CASE WHEN {kind} = 'user_message' THEN substr({d.json_text('s.message', 'content')}, 1, "
        f"{FIRST_PROMPT_CHARS}) ELSE '' END"
    )
    sid = d.json_text("s.message", "session_id")
    if d.name == "sqlite":
        ctes.extend(session_paths(d, "mq_ixp", ["/sessions/"]))
        ctes.append(
            f"mq_ix AS (SELECT path, (SELECT MAX(x.creation_date) FROM {t} x WHERE x.path = p.path) AS last "
            f"FROM mq_ixp p ORDER BY last DESC, path LIMIT {INDEX_SESSIONS})"
        )
        ctes.append(
            f"mq_ixr AS (SELECT i.path, i.last, COALESCE((SELECT s.rowid FROM {t} s WHERE s.path = i.path "
            f"AND {kind} = 'user_message' ORDER BY s.creation_date, s.id LIMIT 1), (SELECT s.rowid FROM {t} s "
            f"WHERE s.path = i.path ORDER BY s.creation_date, s.id LIMIT 1)) AS rid FROM mq_ix i)"
        )
        ctes.append(
            f"mq_ixq AS (SELECT r.path, r.last, {first} AS first, s.author, s.project, "
            f"{summary_path_sql(d, 'r.path', sid)} AS spath FROM mq_ixr r JOIN {t} s ON s.rowid = r.rid)"
        )
        index_summaries(d, ctes, parts)
        return
    ctes.append(
        f"mq_ix AS (SELECT path, MAX(creation_date) AS last FROM {t} "
        f"WHERE {d.prefix('path', '/sessions/')} GROUP BY path ORDER BY last DESC, path "
        f"LIMIT {INDEX_SESSIONS})"
    )
    # Pick each session's row without carrying its text through the sort (the window sorts every
    # row of the 50 sessions); the prompt is read from the picked rows only. A repeated id can
    # join twice: MIN keeps one.
    ctes.append(
        f"mq_ixf AS (SELECT s.path, s.id, s.creation_date, "
        f"row_number() OVER (PARTITION BY s.path ORDER BY CASE WHEN {kind} = 'user_message' THEN 0 ELSE 1 END, "
        f"s.creation_date, s.id) AS rn FROM {t} s WHERE s.path IN (SELECT path FROM mq_ix))"
    )
    ctes.append(
        f"mq_ixc AS (SELECT f.path, MIN(s.author) AS author, MIN(s.project) AS project, MIN({first}) AS first, "
        f"MIN({sid}) AS sid FROM mq_ixf f JOIN {t} s ON s.path = f.path AND s.id = f.id "
        f"AND s.creation_date = f.creation_date WHERE f.rn = 1 GROUP BY f.path)"
    )
    ctes.append(
        f"mq_ixq AS (SELECT p.path, i.last, p.first, p.author, p.project, "
        f"{summary_path_sql(d, 'p.path', 'p.sid')} AS spath FROM mq_ixc p JOIN mq_ix i ON i.path = p.path)"
    )
    index_summaries(d, ctes, parts)


def summary_path_sql(d: SqliteDialect, session_path: str, session_id: str) -> str:
    """SQL of the summary path of the session stored at ``session_path`` whose id is
    ``session_id`` (both SQL): ``/summaries/<user>/<session id>.md``, the user being the session
    path's own user component (``identity.path_component`` of the author, as both paths are
    written), so a session and its summary always name the same user. NULL without an id."""
    return f"('{SUMMARIES_DIR}' || {d.session_user(session_path)} || '/' || {session_id} || '.md')"


def index_summaries(d: SqliteDialect, ctes: list[str], parts: list[str]) -> None:
    """The SESSION part from ``mq_ixq(path, last, first, author, project, spath)``: each session
    LEFT JOINed to the newest memory row at its ``spath`` (that row's text, cut to
    ``INDEX_SUMMARY_CHARS``, and ``note`` = ``spath``), else its first prompt (``note`` ``''``)."""
    ctes.append(
        f"mq_ixs AS (SELECT path, substr(summary, 1, {INDEX_SUMMARY_CHARS}) AS summary, row_number() OVER "
        f"(PARTITION BY path ORDER BY last_update_date DESC, creation_date DESC, id DESC) AS rn "
        f"FROM {d.t['memory']} WHERE path IN (SELECT spath FROM mq_ixq))"
    )
    parts.append(
        _select(
            d,
            SESSION,
            "q.path",
            "CASE WHEN m.path IS NULL THEN q.first ELSE m.summary END",
            author="q.author",
            project="q.project",
            date="q.last",
            note="CASE WHEN m.path IS NULL THEN '' ELSE q.spath END",
        )
        + " FROM mq_ixq q LEFT JOIN mq_ixs m ON m.path = q.spath AND m.rn = 1"
    )


def lines_scan(q: MemoryQuery, d: SqliteDialect, ctes: list[str], parts: list[str]) -> None:
    """Session lines under ``q``'s prefixes with no full-text index: all of them, or (narrowed)
    the candidates (``d.contains`` of any literal) and their context lines. Line numbers are
    ``dense_rank()`` over (creation_date, id) within the path; context is a window too (``MAX(hit)``
    over a RANGE of line numbers), so the plan has no join whose cost hangs on row estimates:
    one pass finds the candidate files, a second numbers their rows."""
    sess = scoped(q.prefixes, "/sessions/")
    if not sess or (q.literals is not None and not q.literals):
        return
    matcher = getattr(d, "matcher_sql", None) if q.literals is None and q.matcher is not None else None
    t = d.t["sessions"]
    rank = "dense_rank() OVER (PARTITION BY s.path ORDER BY s.creation_date, s.id)"
    text = d.message("s.message")
    where = any_prefix(d, "s.path", sess)
    if matcher is not None:  # a user function the store registered: GNU grep's selection
        cand = f"({matcher}({text}) = 1)"
    elif q.literals is not None:
        cand = "(" + " OR ".join(d.contains(text, lit, q.case_sensitive) for lit in q.literals) + ")"
    else:  # neither: every line of the sessions under the prefixes
        parts.append(
            _select(d, LINE, "s.path", text, rank, "s.author", "s.project", "s.creation_date")
            + f" FROM {t} s WHERE {where}"
        )
        return
    ctes.append(f"mq_lc AS (SELECT DISTINCT s.path FROM {t} s WHERE {where} AND {cand})")
    ctes.append(
        f"mq_ln AS (SELECT s.path, s.creation_date, s.author, s.project, {text} AS text, "
        f"CASE WHEN {cand} THEN 1 ELSE 0 END AS hit, {rank} AS ln "
        f"FROM {t} s WHERE s.path IN (SELECT path FROM mq_lc))"
    )
    before, after = q.context
    source, keep = "mq_ln", "hit = 1"
    if before or after:  # near: a candidate lies within (ln - after .. ln + before); no join to misplan
        ctes.append(
            f"mq_lw AS (SELECT n.*, MAX(n.hit) OVER (PARTITION BY n.path ORDER BY n.ln RANGE BETWEEN "
            f"{int(after)} PRECEDING AND {int(before)} FOLLOWING) AS near FROM mq_ln n)"
        )
        source, keep = "mq_lw", "near = 1"
    parts.append(
        _select(d, LINE, "path", "text", "ln", "author", "project", "creation_date", hit="hit")
        + f" FROM {source} WHERE {keep}"
    )


def limit_lines(q: MemoryQuery, parts: list[str], count: int) -> None:
    """Wrap the first ``count`` parts (the LINE parts) so each returns at most ``q.limit`` rows:
    the first by (path, line), or the best by score when ``q.rank`` (``MemoryQuery.limit``)."""
    if not q.limit:
        return
    order = "score DESC, path, line" if q.rank else "path, line"
    for i in range(count):
        parts[i] = f"SELECT * FROM ({parts[i]} ORDER BY {order} LIMIT {int(q.limit)}) AS mq_lim{i}"


def statement(ctes: Sequence[str], parts: Sequence[str], recursive: bool = False) -> str:
    """``WITH [RECURSIVE] <ctes> <part> UNION ALL <part> ...`` ('' when there is no part)."""
    if not parts:
        return ""
    head = (f"WITH {'RECURSIVE ' if recursive else ''}" + ", ".join(ctes) + " ") if ctes else ""
    return head + " UNION ALL ".join(parts)


# answers ------------------------------------------------------------------------------------------
def one_line(text: Any) -> str:
    """A session line's text: the stored JSON text, re-serialised on one line when it holds a
    raw newline (another client's pretty-printed JSON); non-JSON text gets spaces instead."""
    if text is None:
        return ""
    if not isinstance(text, str):
        return json.dumps(text, ensure_ascii=False)
    if "\n" not in text:
        return text
    try:
        return json.dumps(json.loads(text), ensure_ascii=False)
    except ValueError:
        return text.replace("\n", " ")


def clean_path(path: str) -> bool:
    """True for a clean absolute virtual path: ``/`` then non-empty components other than
    ``.``/``..``, no control characters."""
    if not isinstance(path, str) or not path.startswith("/") or _BAD_PATH_CHARS.search(path):
        return False
    return all(part not in ("", ".", "..") for part in path[1:].split("/"))


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def records(rows: Iterable[Sequence[Any]], rank_literals: Sequence[str] | None = None) -> list[MemoryRecord]:
    """``MemoryRecord``s from rows of ``COLS``: LINE texts on one line, one record per
    ``(kind, path, line)``, unclean paths dropped (and an unclean ``note``: ``''``; ``note`` is kept
    on SESSION records only), ``score`` kept on candidate lines only; with
    ``rank_literals`` (a store without BM25 for lines), candidate lines are scored here with
    ``bm25`` over the returned candidates. Order: SESSION newest first, then the rest by kind,
    path, line."""
    out: list[MemoryRecord] = []
    cand: list[int] = []
    seen: set[tuple[str, str, int]] = set()
    for row in rows:
        kind, path, text, line, author, project, date, score, hit, note = row
        path, line = _str(path), int(line or 0)
        if not clean_path(path) or (kind, path, line) in seen:
            continue
        seen.add((kind, path, line))
        text = one_line(text) if kind == LINE else _str(text)
        if int(hit or 0):
            cand.append(len(out))
        else:
            score = 0.0
        note = _str(note) if kind == SESSION and clean_path(_str(note)) else ""
        out.append(
            MemoryRecord(kind, path, text, line, _str(author), _str(project), _str(date), float(score or 0.0), note)
        )
    if rank_literals and cand:
        for i, s in zip(cand, bm25([out[i].text for i in cand], rank_literals)):
            out[i] = _with_score(out[i], s)
    order = {SESSION: 0, SKILL: 1, DOC: 2, ENTRY: 3, LINE: 4}
    sessions = sorted((r for r in out if r.kind == SESSION), key=lambda r: (r.date, r.path), reverse=True)
    rest = sorted((r for r in out if r.kind != SESSION), key=lambda r: (order.get(r.kind, 9), r.path, r.line))
    return sessions + rest


def _with_score(rec: MemoryRecord, score: float) -> MemoryRecord:
    return MemoryRecord(rec.kind, rec.path, rec.text, rec.line, rec.author, rec.project, rec.date, score, rec.note)


# ranking ------------------------------------------------------------------------------------------
def _count(haystack: str, needle: str) -> int:
    return haystack.count(needle) if needle else 0


def bm25(texts: Sequence[str], terms: Sequence[str], k1: float = BM25_K1, b: float = BM25_B) -> list[float]:
    """BM25 of each of ``texts`` for ``terms``, computed over ``texts`` alone (the returned rows):
    term frequency = non-overlapping ASCII-case-insensitive occurrences of the term, document
    length = characters (normalised by the mean), idf = ``ln(1 + (N - n + 0.5) / (n + 0.5))``.
    Higher is better; a text with no term scores 0."""
    if not texts:
        return []
    low = [t.lower() if t.isascii() else _ascii_lower(t) for t in texts]
    keys = [t.lower() if t.isascii() else _ascii_lower(t) for t in dict.fromkeys(terms) if t]
    n = len(texts)
    avg = (sum(len(t) for t in low) / n) or 1.0
    tf = [[_count(t, k) for k in keys] for t in low]
    dfs = [sum(1 for row in tf if row[j]) for j in range(len(keys))]
    idf = [math.log(1 + (n - df + 0.5) / (df + 0.5)) for df in dfs]
    out = []
    for t, row in zip(low, tf):
        norm = k1 * (1 - b + b * len(t) / avg)
        out.append(sum(w * f * (k1 + 1) / (f + norm) for w, f in zip(idf, row) if f))
    return out


def _ascii_lower(text: str) -> str:
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


# search -------------------------------------------------------------------------------------------
def search_words(query: str) -> list[str]:
    """The words ``search`` looks for: whitespace-separated, repeated ones once, at most
    ``SEARCH_WORDS``; only those of 3+ characters when there is one."""
    words = list(dict.fromkeys(w for w in query.split() if w))
    longer = [w for w in words if len(w) >= 3]
    return (longer or words)[:SEARCH_WORDS]


def snippet(text: str, words: Sequence[str], width: int = SNIPPET_CHARS) -> str:
    """About ``width`` characters of ``text`` around the first occurrence of any of ``words``
    (ASCII case-insensitive), whitespace runs as one space, ``…`` where it was cut."""
    low = _ascii_lower(text)
    found = [p for p in (low.find(_ascii_lower(w)) for w in words if w) if p >= 0]
    pos = min(found) if found else 0
    start = max(0, pos - width // 3)
    end = start + width
    piece = " ".join(text[start:end].split())
    return ("…" if start > 0 else "") + piece + ("…" if end < len(text) else "")


#: ``search``'s order between hits of the same score: a condensed document before a raw event line.
HIT_RANK = {"summary": 0, "note": 1, "skill": 2, "session": 3}


def hits(rows: Iterable[Sequence[Any]], words: Sequence[str], limit: int, rank_here: str = "docs") -> list[SearchHit]:
    """``SearchHit``s from search rows (``COLS``, whose ``hit`` column says ``session``, ``summary``,
    ``note`` or ``skill``: ``SearchHit.extra["kind"]``; ``extra["source"]`` is the whole stored text
    the snippet was cut from, so a reader can decode a session line's JSON), best first (score, then
    ``HIT_RANK``: summary, note, skill, session line; then path, line), at most
    ``limit``; repeated ``(path, line)`` are dropped. ``rank_here``: which
    rows get their score here, from ``bm25`` over the returned texts: ``"docs"`` (the store
    scored session lines), ``"all"`` (the store scored nothing) or ``"none"`` (the store scored
    every row, and rows scoring 0 are dropped: not a match)."""
    got: list[tuple[str, str, str, int, str, str, str, float]] = []
    seen: set[tuple[str, int]] = set()
    for kind, path, text, line, author, project, date, score, what, _note in rows:
        path, line = _str(path), int(line or 0)
        if not clean_path(path) or (path, line) in seen:
            continue
        seen.add((path, line))
        text = one_line(text) if kind == LINE else _str(text)
        got.append((_str(what), path, text, line, _str(author), _str(project), _str(date), float(score or 0.0)))
    redo = [i for i, g in enumerate(got) if rank_here == "all" or (rank_here == "docs" and g[0] != "session")]
    for i, s in zip(redo, bm25([got[i][2] for i in redo], words)):
        got[i] = got[i][:7] + (s,)
    if rank_here == "none":  # the service scored every row it returned: 0 is no match
        got = [g for g in got if g[7] > 0]
    got.sort(key=lambda g: (-g[7], HIT_RANK.get(g[0], len(HIT_RANK)), g[1], g[3]))
    return [
        SearchHit(path, line, snippet(text, words), author, project, date, score, {"kind": what, "source": text})
        for what, path, text, line, author, project, date, score in got[: max(0, limit)]
    ]


def author_project(d: SqliteDialect, user: str | None, project: str | None, alias: str = "") -> str:
    """`` AND <alias>author = .. AND <alias>project = ..`` for the given ones ('' for none)."""
    return "".join(f" AND {alias}{col} = {d.lit(val)}" for col, val in (("author", user), ("project", project)) if val)


def search_filters(
    d: SqliteDialect,
    user: str | None,
    project: str | None,
    alias: str = "",
    *,
    agent: str | None = None,
    since: str | None = None,
    date: str = "creation_date",
) -> str:
    """``author_project`` plus `` AND <alias>agent = ..`` (sessions rows: only they have a
    meaningful agent) and `` AND <date> >= ..`` (``date``: the SQL of the row's ISO-8601 UTC date)
    for the given ones ('' for none)."""
    filt = author_project(d, user, project, alias)
    if agent:
        filt += f" AND {alias}agent = {d.lit(agent)}"
    if since:
        filt += f" AND {date} >= {d.lit(since)}"
    return filt


#: Key of a cut message (``Store.session_rows(message_bytes=...)``): its stored JSON text's length in bytes.
CUT_KEY = "lakeloop_cut_bytes"
#: The top-level fields a cut message keeps, each cut to ``message_bytes`` characters (an object
#: or array as its JSON text, cut): what a reader needs to show the event.
CUT_FIELDS = ("type", "session_id", "hook_event_name", "tool_name", "content", "tool_input", "tool_response")


def bounded_message_sql(d: SqliteDialect, message_bytes: int, col: str = "message") -> list[str]:
    """The SQL columns read instead of ``message`` (column ``col``) when messages are bounded: the JSON text itself
    when it is at most ``message_bytes`` bytes long (else NULL), its length in bytes, then, only
    for a longer message, its ``CUT_FIELDS`` each cut to ``message_bytes`` characters in SQL (so a
    20 MB tool output is never sent to, nor decoded by, Python): on SQLite one column, a JSON object
    text built from ONE parse of the message (``json_each``; NULL when the text is not JSON), on
    PostgreSQL one column per field (``->>`` on JSONB)."""
    n = max(0, int(message_bytes))
    if d.name == "pg":
        size = f"octet_length(CAST({col} AS TEXT))"
        fields = [f"CASE WHEN {size} > {n} THEN left({col}->>'{key}', {n}) END" for key in CUT_FIELDS]
    else:
        size = f"length(CAST({col} AS BLOB))"
        keys = ", ".join(f"'{key}'" for key in CUT_FIELDS)
        fields = [
            f"CASE WHEN {size} > {n} AND json_valid({col}) THEN (SELECT json_group_object(key, "
            f"substr(value, 1, {n})) FROM json_each({col}) WHERE key IN ({keys})) END"
        ]
    return [f"CASE WHEN {size} <= {n} THEN {col} END", size, *fields]


def cut_message(size: Any, fields: dict[str, Any]) -> dict[str, Any]:
    """The message of a row whose JSON text was too long to read: the ``CUT_FIELDS`` of ``fields``
    that are present (as text) and ``CUT_KEY``: ``size`` (bytes, an int; 0 when not a number)."""
    try:
        length = int(size or 0)
    except (TypeError, ValueError):
        length = 0
    out: dict[str, Any] = {
        k: v if isinstance(v, str) else str(v) for k, v in fields.items() if k in CUT_FIELDS and v is not None
    }
    out[CUT_KEY] = length
    return out


def doc_search_parts(
    d: SqliteDialect,
    words: Sequence[str],
    user: str | None,
    project: str | None,
    ctes: list[str],
    parts: list[str],
    *,
    agent: str | None = None,
    since: str | None = None,
) -> None:
    """The memory-table and skills parts of ``search``: current rows whose text contains any word
    (``d.contains``), with author/project filters and ``since`` (a note's or summary's latest date, a
    skill version's ``created_at``); ``hit`` column carries ``summary`` (a row under
    ``SUMMARIES_DIR``), ``note`` or ``skill``. With ``agent`` there are none (notes, summaries and
    skills belong to no agent)."""
    if agent:
        return
    t = d.t
    filt = search_filters(d, user, project, since=since, date="date")
    skill_filt = search_filters(d, user, project, since=since, date="created_at")
    ctes.append(
        f"sq_mem AS (SELECT path, summary, author, project, "
        f"CASE WHEN last_update_date <> '' THEN last_update_date ELSE creation_date END AS date, "
        f"row_number() OVER (PARTITION BY path ORDER BY last_update_date DESC, creation_date DESC, id DESC) AS rn "
        f"FROM {t['memory']} WHERE {not_hidden(d, 'path')})"
    )
    match = " OR ".join(d.contains("summary", w) for w in words)
    parts.append(
        _select(d, DOC, "path", "summary", author="author", project="project", date="date", hit=memory_hit(d))
        + f" FROM sq_mem WHERE rn = 1 AND ({match}){filt}"
    )
    ctes.append(
        f"sq_sk AS (SELECT name, author, project, body, created_at, row_number() OVER (PARTITION BY name, author "
        f"ORDER BY version DESC, created_at ASC, id ASC) AS rn FROM {t['skills']} WHERE scope = 'team')"
    )
    match = " OR ".join(d.contains("body", w) for w in words)
    parts.append(
        _select(d, DOC, skill_path_sql(), "body", author="author", project="project", date="created_at", hit="'skill'")
        + f" FROM sq_sk WHERE rn = 1 AND ({match}){skill_filt}"
    )


def memory_hit(d: SqliteDialect) -> str:
    """SQL of a memory-table row's ``search`` hit kind: ``'summary'`` under ``SUMMARIES_DIR``, else
    ``'note'``."""
    return f"CASE WHEN {d.prefix('path', SUMMARIES_DIR)} THEN 'summary' ELSE 'note' END"


def note_values(row: NoteRow, plugin_version: str) -> dict[str, Any]:
    """The memory-table columns of a note: filename = basename, size_bytes = UTF-8 length,
    mime_type ``text/markdown`` for ``.md``, ``application/json`` for ``.json`` (outcome rows) else
    ``text/plain``, both dates = ``row.date``."""
    suffix = row.path.lower().rpartition(".")[2]
    return {
        "id": row.id,
        "path": row.path,
        "filename": row.path.rsplit("/", 1)[-1],
        "summary": row.text,
        "summary_embedding": None,
        "author": row.author,
        "mime_type": {"md": "text/markdown", "json": "application/json"}.get(suffix, "text/plain"),
        "size_bytes": len(row.text.encode("utf-8", "surrogatepass")),
        "project": row.project,
        "description": row.description,
        "agent": row.agent,
        "plugin_version": plugin_version,
        "creation_date": row.date,
        "last_update_date": row.date,
    }


def pg_search(
    d: PgDialect,
    words: Sequence[str],
    limit: int,
    user: str | None,
    project: str | None,
    bm25_operator: bool,
    *,
    agent: str | None = None,
    since: str | None = None,
) -> str:
    """Deeplake's ``search`` statement. ``bm25_operator``: rank with the service's ``<#>``
    (BM25; higher is better) on ``CAST(message AS TEXT)``, ``memory.summary`` and ``skills.body``,
    the ``limit`` best of each (notes and summaries together); else the newest ``SEARCH_CANDIDATES``
    session rows and the current notes, summaries and skills that contain a word (``ILIKE``), to be
    ranked in Python. Session lines carry
    their line number (``dense_rank`` within their file). ``agent``/``since``: as
    ``Store.search`` (``search_filters``; with ``agent``, session lines only)."""
    t = d.t
    filt = search_filters(d, user, project, "s.", agent=agent, since=since, date="s.creation_date")
    text = d.message("s.message")
    ctes: list[str] = []
    parts: list[str] = []
    if bm25_operator:
        q = d.lit(" ".join(words))
        ctes.append(
            f"sq_t AS (SELECT s.path, s.id, s.creation_date, {text} AS text, s.author, s.project, "
            f"{text} <#> {q} AS score FROM {t['sessions']} s WHERE TRUE{filt} "
            f"ORDER BY score DESC LIMIT {int(limit)})"
        )
        ctes.append(
            f"sq_n AS (SELECT s.path, s.id, s.creation_date, dense_rank() OVER (PARTITION BY s.path "
            f"ORDER BY s.creation_date, s.id) AS ln FROM {t['sessions']} s "
            f"WHERE s.path IN (SELECT path FROM sq_t))"
        )
        parts.append(
            _select(
                d, LINE, "t.path", "t.text", "n.ln", "t.author", "t.project", "t.creation_date", "t.score", "'session'"
            )
            + " FROM sq_t t JOIN sq_n n ON n.path = t.path AND n.id = t.id "
            "AND n.creation_date = t.creation_date"
        )
    else:  # candidate files, their rows numbered, the newest candidates kept (as lines_scan: no join)
        match = "(" + " OR ".join(d.contains(text, w) for w in words) + ")"
        ctes.append(f"sq_c AS (SELECT DISTINCT s.path FROM {t['sessions']} s WHERE {match}{filt})")
        ctes.append(
            f"sq_n AS (SELECT s.path, s.creation_date, {text} AS text, s.author, s.project, "
            f"CASE WHEN {match}{filt} THEN 1 ELSE 0 END AS hit, dense_rank() OVER (PARTITION BY s.path "
            f"ORDER BY s.creation_date, s.id) AS ln FROM {t['sessions']} s "
            f"WHERE s.path IN (SELECT path FROM sq_c))"
        )
        ctes.append(f"sq_t AS (SELECT * FROM sq_n WHERE hit = 1 ORDER BY creation_date DESC LIMIT {SEARCH_CANDIDATES})")
        parts.append(
            _select(d, LINE, "path", "text", "ln", "author", "project", "creation_date", d.zero, "'session'")
            + " FROM sq_t"
        )
    if not bm25_operator or agent:
        doc_search_parts(d, words, user, project, ctes, parts, agent=agent, since=since)
        return statement(ctes, parts)
    dfilt = search_filters(d, user, project, since=since, date="date")
    skill_filt = search_filters(d, user, project, since=since, date="created_at")
    ctes.append(
        f"sq_mem AS (SELECT path, summary, author, project, "
        f"CASE WHEN last_update_date <> '' THEN last_update_date ELSE creation_date END AS date, "
        f"summary <#> {q} AS score, row_number() OVER (PARTITION BY path ORDER BY last_update_date DESC, "
        f"creation_date DESC, id DESC) AS rn FROM {t['memory']} WHERE {not_hidden(d, 'path')})"
    )
    parts.append(
        "("
        + _select(
            d,
            DOC,
            "path",
            "summary",
            author="author",
            project="project",
            date="date",
            score="score",
            hit=memory_hit(d),
        )
        + f" FROM sq_mem WHERE rn = 1{dfilt} ORDER BY score DESC LIMIT {int(limit)})"
    )
    ctes.append(
        f"sq_sk AS (SELECT name, author, project, body, created_at, body <#> {q} AS score, row_number() OVER "
        f"(PARTITION BY name, author ORDER BY version DESC, created_at ASC, id ASC) AS rn FROM {t['skills']} "
        f"WHERE scope = 'team')"
    )
    parts.append(
        "("
        + _select(
            d,
            DOC,
            skill_path_sql(),
            "body",
            author="author",
            project="project",
            date="created_at",
            score="score",
            hit="'skill'",
        )
        + f" FROM sq_sk WHERE rn = 1{skill_filt} ORDER BY score DESC LIMIT {int(limit)})"
    )
    return statement(ctes, parts)


# recent documents (SessionStart) ----------------------------------------------------------------------
def recent_docs_sql(d: SqliteDialect, prefix: str, project: str | None, limit: int) -> str:
    """``Store.recent_docs``' statement (rows of ``COLS``, kind ``DOC``): the newest memory row of
    each path under directory ``prefix`` (ends in ``/``) whose ``project`` is ``project`` (any
    project when None), newest first (date, then path), at most ``limit``. The project is filtered
    before the newest row is picked: every version of a summary's path is of the one session, so
    of one project."""
    of_project = "" if project is None else f" AND project = {d.lit(project)}"
    rows = (
        f"dr AS (SELECT path, summary, author, project, {memory_date()} AS date, row_number() OVER "
        f"(PARTITION BY path ORDER BY last_update_date DESC, creation_date DESC, id DESC) AS rn "
        f"FROM {d.t['memory']} WHERE {d.prefix('path', prefix)}{of_project})"
    )
    part = _select(d, DOC, "path", "summary", author="author", project="project", date="date")
    return f"WITH {rows} {part} FROM dr WHERE rn = 1 ORDER BY date DESC, path DESC LIMIT {max(0, int(limit))}"


def recent_records(rows: Iterable[Sequence[Any]]) -> list[MemoryRecord]:
    """``recent_docs_sql``'s rows as ``MemoryRecord``s (``records``' cleaning), newest first."""
    return sorted(records(rows), key=lambda r: (r.date, r.path), reverse=True)


# outcomes (skills stats, rollback) --------------------------------------------------------------------
def outcome_prefix(ref: str) -> str:
    """The directory of team skill ``ref``'s outcome rows: ``/outcomes/<ref>/``."""
    return f"{OUTCOMES_DIR}{ref}/"


def outcome_uses_sql(d: SqliteDialect, ref: str) -> str:
    """``Store.outcome_uses``' statement: rows ``(path, description, used_at, n)``, one per
    (path, description) under ``outcome_prefix(ref)``: the earliest ``creation_date`` and the
    number of rows. Plain columns only (no JSON, no cast), so no stored text can fail it; the
    prefix is ``d.prefix`` (an index range on SQLite, ``left()`` on PostgreSQL)."""
    return (
        f"SELECT path, description, MIN(creation_date) AS used_at, COUNT(*) AS n FROM {d.t['memory']} "
        f"WHERE {d.prefix('path', outcome_prefix(ref))} GROUP BY path, description"
    )


def outcome_uses(rows: Iterable[Sequence[Any]], ref: str) -> list[OutcomeUse]:
    """``OutcomeUse``s from ``outcome_uses_sql``'s rows, in their order. Dropped: a path that is
    not clean or not a ``<use>.json`` file directly under ``outcome_prefix(ref)``, a description
    that ``OUTCOME_DESCRIPTION_RE`` does not match in full, a ``used_at`` that is not an ISO-8601
    time (another client's rows, hostile or old, are skipped, never an error)."""
    from datetime import datetime

    from .base import OutcomeUse

    prefix = outcome_prefix(ref)
    if not clean_path(prefix[:-1]):  # then no path under it is clean
        return []
    # a clean path directly under the clean prefix: one component, no control character
    file_name = re.compile(re.escape(prefix) + r"([^/\x00-\x1f\x7f]+)\.json")
    # a skill's rows carry a handful of distinct descriptions: each is parsed once
    parsed: dict[str, tuple[int | None, str] | None] = {}
    out = []
    for path, description, used_at, n in rows:
        named = file_name.fullmatch(_str(path))
        description = _str(description)
        if description not in parsed:
            found = OUTCOME_DESCRIPTION_RE.fullmatch(description)
            parsed[description] = None if found is None else (None if found[1] == "-" else int(found[1]), found[2])
        kind = parsed[description]
        if named is None or kind is None:
            continue
        used_at = _str(used_at)
        try:  # Python 3.10's fromisoformat reads no trailing "Z"
            datetime.fromisoformat(used_at[:-1] + "+00:00" if used_at.endswith("Z") else used_at)
        except ValueError:
            continue
        out.append(OutcomeUse(named[1], kind[0], kind[1], used_at, int(n or 0)))
    return out


# forget -------------------------------------------------------------------------------------------
def memory_date() -> str:
    """SQL of a memory-table row's date, as the memory path shows it: ``last_update_date``, else
    ``creation_date``."""
    return "(CASE WHEN last_update_date <> '' THEN last_update_date ELSE creation_date END)"


def forget_where(
    d: SqliteDialect, table: str, session_id: str | None, before: str | None, match: str | None
) -> str | None:
    """The ``WHERE`` condition (SQL, values through ``d``) of the rows of ``table`` that
    ``lakeloop forget``'s filters select, every given filter applying (AND); None when no row of
    ``table`` can match. ``table`` is ``"sessions"`` (captured rows: ``session_id`` = the
    message's ``session_id``; ``before`` = ``creation_date`` sorts before it; ``match`` = the
    message's JSON text contains it) or ``"memory"`` (notes and summaries: ``session_id`` = the
    session's summary, ``/summaries/<any user>/<session id>.md`` with the id as
    ``summaries.path_for`` files it, since notes record no session; ``before`` = the row's
    ``memory_date`` is set and sorts before it; ``match`` = its ``summary`` or its ``path`` contains
    it). ``match`` ignores case (``d.folded_contains``). Raises ValueError when no filter is given."""
    if not (session_id or before or match):
        raise ValueError("refusing a filter that matches every captured row")
    clauses = []
    if table == "sessions":
        if session_id:
            clauses.append(f"{d.json_text('message', 'session_id')} = {d.lit(session_id)}")
        if before:
            clauses.append(f"creation_date < {d.lit(before)}")
        if match:
            clauses.append(d.folded_contains(d.message("message"), match))
    elif table == "memory":
        if session_id:
            from ..identity import path_component

            clauses.append(
                f"{d.prefix('path', SUMMARIES_DIR)} AND {d.suffix('path', f'/{path_component(session_id)}.md')}"
            )
        if before:
            date = memory_date()
            clauses.append(f"{date} <> '' AND {date} < {d.lit(before)}")
        if match:
            clauses.append(f"({d.folded_contains('summary', match)} OR {d.folded_contains('path', match)})")
    else:
        raise ValueError(f"no forget rule for table {table!r}")
    return " AND ".join(clauses)


# dashboard (lakeloop ui) ------------------------------------------------------------------------------
def storable(*values: str | None) -> bool:
    """Each of ``values`` (None and ``""`` skipped) is text a store holds as written: no NUL or
    other control character but tab, newline and CR, no lone surrogate (``deeplake.sql.clean``
    leaves it unchanged). A filter value that is not can equal no stored value (Deeplake's
    literals drop such characters, SQLite cannot bind a surrogate), so a query on it answers
    nothing rather than something else."""
    from ..deeplake import sql

    return all(not v or (isinstance(v, str) and sql.clean(v) == v) for v in values)


def activity_sql(d: SqliteDialect, since: str, day_start: str) -> str:
    """``Store.activity``'s statement: rows of ``ACTIVITY_COLS``, one per (author, agent) among the
    sessions rows with ``creation_date >= since``, by author then agent. Plain columns only (no
    JSON read); distinct ids are counted (a repeated id on Deeplake is one event); on SQLite the
    date range and every column read come from the ``sessions_date`` index."""
    day = d.lit(day_start)

    def today(col: str) -> str:
        return f"COUNT(DISTINCT CASE WHEN creation_date >= {day} THEN {col} END)"

    return (
        f"SELECT author, agent, COUNT(DISTINCT id) AS events, {today('id')} AS events_today, "
        f"COUNT(DISTINCT path) AS sessions, {today('path')} AS sessions_today FROM {d.t['sessions']} "
        f"WHERE creation_date >= {d.lit(since)} GROUP BY author, agent ORDER BY author, agent"
    )


#: ``activity_sql``'s columns, in order.
ACTIVITY_COLS = ("author", "agent", "events", "events_today", "sessions", "sessions_today")


def activity(rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    """``activity_sql``'s rows as ``Store.activity``'s dicts (texts as str, counts as int)."""
    return [
        {k: _str(v) if k in ("author", "agent") else int(v or 0) for k, v in zip(ACTIVITY_COLS, row)} for row in rows
    ]


def session_list_sql(d: SqliteDialect, q: SessionListQuery, materialized: str = "") -> str:
    """``Store.session_list``'s statement: rows of ``SESSION_LIST_COLS``, one per (path, message
    type) of the sessions on the page ``q`` asks for. CTE ``sl_p`` picks the page on plain columns
    (``author``, ``agent``, ``project``, ``creation_date``: no JSON read): the paths with a
    matching row, newest first by their latest matching row (``k``, then path), ``LIMIT`` /
    ``OFFSET``. CTE ``sl_r`` reads every row of those paths only (found by path), each
    message's ``type`` and ``session_id`` once (``materialized``: ``"MATERIALIZED "`` where the
    engine would otherwise inline it and parse each message again). Values through ``d.lit``."""
    from .base import SESSION_LIST_MAX

    t = d.t["sessions"]
    where = [f"{c} = {d.lit(v)}" for c, v in (("author", q.user), ("agent", q.agent), ("project", q.project)) if v]
    where += [f"creation_date {op} {d.lit(v)}" for op, v in ((">=", q.since), ("<", q.until)) if v]
    limit, offset = min(max(0, int(q.limit)), SESSION_LIST_MAX), max(0, int(q.offset))
    # filtered: the covering (creation_date, author, agent, project, path, id) index, no row read;
    # unfiltered: the (path, creation_date, id) index already yields each path's latest row in order
    source = f"{d.indexed(t, 'sessions_date')} WHERE {' AND '.join(where)}" if where else t
    page = (
        f"sl_p AS (SELECT path, MAX(creation_date) AS k FROM {source} "
        f"GROUP BY path ORDER BY k DESC, path DESC LIMIT {limit} OFFSET {offset})"
    )
    if not where and d.name == "sqlite":
        # unfiltered on SQLite: a skip scan of that index, two seeks per session (each next path,
        # then its latest row) instead of reading one entry per event (100,000 events: 22 -> 2 ms)
        page = (
            f"sl_d(path) AS (SELECT MIN(path) FROM {t} UNION ALL "
            f"SELECT (SELECT MIN(path) FROM {t} WHERE path > sl_d.path) FROM sl_d WHERE sl_d.path IS NOT NULL), "
            f"sl_p AS (SELECT path, (SELECT MAX(creation_date) FROM {t} x WHERE x.path = sl_d.path) AS k "
            f"FROM sl_d WHERE path IS NOT NULL ORDER BY k DESC, path DESC LIMIT {limit} OFFSET {offset})"
        )
        d.recursive = True
    rows = (
        f"sl_r AS {materialized}(SELECT s.path, p.k, {d.json_text('s.message', 'type')} AS type, "
        f"{d.json_text('s.message', 'session_id')} AS sid, s.id, s.creation_date AS cd, s.author, s.agent, "
        f"s.project FROM {t} s JOIN sl_p p ON p.path = s.path)"
    )
    return (
        f"WITH {'RECURSIVE ' if d.recursive else ''}{page}, {rows} SELECT path, k, type, COUNT(DISTINCT id) AS n, "
        "MIN(cd) AS first, MAX(cd) AS last, "
        "MIN(sid) AS session_id, MIN(author) AS author, MIN(agent) AS agent, MIN(project) AS project "
        "FROM sl_r GROUP BY path, k, type"
    )


#: ``session_list_sql``'s columns, in order.
SESSION_LIST_COLS = ("path", "k", "type", "n", "first", "last", "session_id", "author", "agent", "project")


def session_list(rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    """``session_list_sql``'s rows merged per path into ``Store.session_list``'s dicts, in the
    page's order (``k``, then path, descending)."""
    found: dict[str, dict[str, Any]] = {}
    keys: dict[str, str] = {}
    for path, k, kind, n, first, last, sid, author, agent, project in rows:
        path = _str(path)
        s = found.setdefault(
            path,
            {
                "path": path,
                "session_id": "",
                "author": "",
                "agent": "",
                "project": "",
                "rows": 0,
                "types": {},
                "first": _str(first),
                "last": _str(last),
            },
        )
        keys[path] = _str(k)
        s["rows"] += int(n or 0)
        s["types"][_str(kind)] = s["types"].get(_str(kind), 0) + int(n or 0)
        s["first"], s["last"] = min(s["first"], _str(first)), max(s["last"], _str(last))
        for name, value in (("session_id", sid), ("author", author), ("agent", agent), ("project", project)):
            s[name] = s[name] or _str(value)
    return [found[p] for p in sorted(found, key=lambda p: (keys[p], p), reverse=True)]
