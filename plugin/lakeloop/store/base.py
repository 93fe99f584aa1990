"""The ``Store`` interface and its row types.

Rows mirror the Deeplake tables of ``docs/deeplake-store.md`` column for column, so
the embedded store and the Deeplake store hold interchangeable rows:

* sessions: ``id, path, filename, message (JSON object), message_embedding,
  author, mime_type, size_bytes, project, description (hook event name),
  agent, plugin_version, creation_date, last_update_date`` (ISO-8601 UTC).
* skills: ``id, name, project, project_key, local_path, install, source_sessions
  (JSON array as text), source_agent, scope, author, contributors (JSON array as
  text), description, trigger_text, body, version, created_at, updated_at``.
"""

from __future__ import annotations

import abc

from ..records import dataclass, field

TYPE_CHECKING = False  # typing is not imported at run time (hook start-up time)
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any

    from .memory_types import MemoryQuery, MemoryRecord, NoteRow, SearchHit

SESSION_COLUMNS = (
    "id",
    "path",
    "filename",
    "message",
    "message_embedding",
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

SKILL_COLUMNS = (
    "id",
    "name",
    "project",
    "project_key",
    "local_path",
    "install",
    "source_sessions",
    "source_agent",
    "scope",
    "author",
    "contributors",
    "description",
    "trigger_text",
    "body",
    "version",
    "created_at",
    "updated_at",
)


@dataclass
class SessionRow:
    """One captured agent event (a row of the sessions table).

    ``message`` is the event object (see ``lakeloop.capture.rows``); ``size_bytes`` is
    the UTF-8 length of its JSON text.
    """

    id: str
    path: str
    filename: str
    message: dict[str, Any]
    author: str
    size_bytes: int
    project: str
    description: str
    agent: str
    plugin_version: str
    creation_date: str
    last_update_date: str
    mime_type: str = "application/json"
    message_embedding: list[float] | None = None

    @property
    def type(self) -> str:
        """The message ``type``: user_message, tool_call or assistant_message."""
        return str(self.message.get("type", ""))


@dataclass
class SkillRow:
    """One version of a team skill (a row of the skills table).

    ``source_sessions`` and ``contributors`` are lists here; stores encode them
    as JSON array text. ``ref`` is ``<name>--<author>``.
    """

    id: str
    name: str
    author: str
    body: str
    version: int = 1
    project: str = ""
    project_key: str = ""
    local_path: str = ""
    install: str = "global"
    source_sessions: list[str] = field(default_factory=list)
    source_agent: str = "claude_code"
    scope: str = "team"
    contributors: list[str] = field(default_factory=list)
    description: str = ""
    trigger_text: str = ""
    created_at: str = ""
    updated_at: str = ""

    @property
    def ref(self) -> str:
        """The org skill reference ``<name>--<author>``."""
        return f"{self.name}--{self.author}"


@dataclass(frozen=True)
class SessionFilter:
    """Which rows ``lakeloop forget`` means; every given field must match (AND).

    Captured (sessions) rows: ``session_id``: rows of that session; ``before``: rows whose
    ``creation_date`` (ISO-8601 UTC text) sorts before this text; ``match``: rows whose message
    JSON contains this text, ignoring case. Memory-table rows (notes, summaries; each row one
    version of the file at its ``path``): ``match``: the text or the path contains it, ignoring
    case; ``before``: the row's date (``last_update_date``, else ``creation_date``) is set and
    sorts before it; ``session_id``: that session's summary (``/summaries/<user>/<session id>.md``;
    notes record no session) (``memory_sql.forget_where``). At least one field must be set
    (``empty`` is True otherwise).
    """

    session_id: str | None = None
    before: str | None = None
    match: str | None = None

    @property
    def empty(self) -> bool:
        """True when no field is set (a filter that would match every row)."""
        return not (self.session_id or self.before or self.match)


@dataclass(frozen=True)
class OutcomeUse:
    """One judged use of a team skill as the store holds it (``Store.outcome_uses``): the outcome
    rows at one path ``/outcomes/<ref>/<use>.json`` that share one description.

    ``use``: the use id (the file name without ``.json``); ``version``: the skill version the
    agent used, None when unknown (``v=-``); ``verdict``: ``failure``, ``success``, ``unclear`` or
    ``no_pushback``; ``used_at``: the earliest ``creation_date`` of those rows (the time of the use,
    ISO-8601 UTC); ``rows``: how many rows (judgments, replays) were merged into this one. A use
    judged twice with different verdicts gives one ``OutcomeUse`` per verdict
    (``skillopt.stats.per_use`` keeps the worst)."""

    use: str
    version: int | None
    verdict: str
    used_at: str
    rows: int = 1


@dataclass(frozen=True)
class SessionListQuery:
    """Which sessions ``Store.session_list`` lists, and which page of them.

    ``user``, ``agent``, ``project``: the ``author``, ``agent`` and ``project`` columns of a row
    equal this text exactly (case and all; no pattern: ``%`` and ``_`` are plain characters);
    ``since`` / ``until``: a row's ``creation_date`` (ISO-8601 UTC text of ``identity.utc_now``'s
    fixed-width format, so text order is time order) is ``>= since`` / ``< until``. None or ``""``
    means no filter. A session is listed when at least one of its rows matches every given
    filter. ``limit`` (sessions per page, at most ``SESSION_LIST_MAX``) and ``offset`` (sessions
    skipped) page the list, newest first; a negative value counts as 0.
    """

    user: str | None = None
    agent: str | None = None
    project: str | None = None
    since: str | None = None
    until: str | None = None
    limit: int = 50
    offset: int = 0


#: Most sessions ``Store.session_list`` returns in one page.
SESSION_LIST_MAX = 1000


def winner_key(row: SkillRow) -> tuple:
    """Sort key of the current version among a skill's rows: highest ``version``; between rows
    of the same version (two publishers raced), the one created first, then the smaller id
    (the later one is the deterministic loser and re-publishes on top)."""
    return (-int(row.version), row.created_at, row.id)


class SessionRowsPage(list[SessionRow]):
    """``Store.session_rows(..., limit=N)``'s answer: a ``list`` of at most N ``SessionRow``s, plus
    ``total`` (how many distinct rows the call selects without the limit) and ``last`` (the latest
    ``creation_date`` among them, ISO-8601 UTC text; ``""`` when none)."""

    def __init__(self, rows: Iterable[SessionRow] = (), total: int = 0, last: str = "") -> None:
        super().__init__(rows)
        self.total = total
        self.last = last


class Store(abc.ABC):
    """What hooks, the worker and the CLI need from a store.

    Every method raises ``StoreError`` on failure; none retries on its own
    (retry policy belongs to the caller or the transport).
    """

    name: str = "store"

    @abc.abstractmethod
    def append_session_rows(self, rows: Sequence[SessionRow], unsure: bool = False) -> None:
        """Insert sessions rows in one batched write (append-only), idempotent by ``id``:
        a row whose id is already stored is not stored again (exactly once, by event id).

        ``unsure``: some rows may already have been sent with an unknown outcome; the
        Deeplake store then looks their ids up before inserting (the normal path is one
        INSERT with no lookup, seed 002). Raises StoreError (``OutcomeUnknown`` when the
        insert may or may not have been applied).
        """

    def append_session_row(self, row: SessionRow) -> None:
        """Insert one sessions row (``append_session_rows([row])``)."""
        self.append_session_rows([row])

    @abc.abstractmethod
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
        """All rows of the session stored at ``path``, oldest first (creation_date,
        then insertion order); only message types in ``types`` when given; with ``mentions``,
        ``tool_call`` rows only when their message contains that text (other types are kept);
        with ``after=(creation_date, id)``, only rows that sort after that row by
        ``(creation_date, id)`` (a summary refresh reads only what is new).
        ``limit``: only the oldest ``limit`` rows (a negative value counts as 0); the answer is then
        a ``SessionRowsPage`` whose ``total`` and ``last`` describe every selected row.
        ``message_bytes``: a message whose stored JSON text is longer than that many bytes is not
        read whole: its row's ``message`` holds only ``memory_sql.CUT_FIELDS`` (each cut in SQL to
        ``message_bytes`` characters, as text) and ``memory_sql.CUT_KEY``: its length in bytes; the
        row's ``message_embedding`` is then None for every row. One query. A repeated ``id`` is
        returned once (the first copy). Raises StoreError."""

    @abc.abstractmethod
    def list_sessions(self, limit: int = 50, prefix: str | None = None) -> list[dict[str, Any]]:
        """Recent sessions, newest first: ``[{path, session_id, rows, types: {type: n},
        first, last, agent}]`` (``agent``: the ``agent`` column of one of its rows); with
        ``prefix`` (``/sessions/alice/``), only the sessions whose path lies under it, selected in
        the query (``memory_sql`` dialect ``prefix``), so the newest ``limit`` are the prefix's own."""

    @abc.abstractmethod
    def activity(self, since: str, day_start: str) -> list[dict[str, Any]]:
        """Who captured what since ``since``, for the dashboard's overview: one dict per
        ``(author, agent)`` with a sessions row whose ``creation_date >= since``, ordered by author
        then agent: ``{author: str, agent: str, events: int, events_today: int, sessions: int,
        sessions_today: int}``. ``events``: those rows (distinct ids); ``sessions``: the distinct
        paths among them; ``*_today``: the same among rows with ``creation_date >= day_start``.
        ``since`` and ``day_start`` are ISO-8601 UTC text in ``identity.utc_now``'s format (the
        week's and the day's start, converted from local time by the caller). ONE statement
        (``memory_sql.activity_sql``). [] without a query when a bound is text no store holds (a
        control character but tab, newline and CR, or a lone surrogate: ``memory_sql.storable``).
        Raises StoreError."""

    @abc.abstractmethod
    def session_list(self, query: SessionListQuery) -> list[dict[str, Any]]:
        """One page of the sessions ``query`` selects (``SessionListQuery``), newest first (by the
        latest matching row's ``creation_date``, then path, descending): ``[{path: str,
        session_id: str, author: str, agent: str, project: str, rows: int, types: {message type:
        int}, first: str, last: str}]``. ``rows`` (distinct ids), ``types``, ``first`` and ``last`` (ISO-8601
        UTC text) describe the whole session, not only its matching rows (a session that began
        yesterday shows its true start under "since today"); ``session_id``, ``author``,
        ``agent`` and ``project`` come from its rows (``""`` when missing). ONE statement
        (``memory_sql.session_list_sql``: the page's paths are chosen on plain columns, and only
        their rows' JSON is read). [] without a query when ``limit <= 0`` or a filter value is
        text no store holds (a control character but tab, newline and CR, or a lone surrogate:
        ``memory_sql.storable``; it can equal no stored value). Raises StoreError."""

    @abc.abstractmethod
    def current_skill(self, name: str, author: str) -> SkillRow | None:
        """The current version of ``(name, author)`` (proposals excluded): highest ``version``; on a tie
        the earliest ``created_at``, then the smaller id (``winner_key``; docs/deeplake-store.md
        says latest, but a tie is a publish race whose loser re-publishes as the next
        version). None when absent."""

    @abc.abstractmethod
    def latest_skills(self, scope: str | None = "team") -> list[SkillRow]:
        """The current version of every skill (of ``scope`` when given)."""

    @abc.abstractmethod
    def insert_skill(self, row: SkillRow) -> None:
        """Insert one skills row (append-only: a new version is a new row)."""

    @abc.abstractmethod
    def skill_rows(
        self, name: str | None = None, author: str | None = None, scope: str | None = None, *, bodies: bool = True
    ) -> list[SkillRow]:
        """Every skills row matching the given fields (all versions), ordered by name,
        author, version, created_at, id. One query. ``bodies=False``: every row's ``body`` is
        ``""`` and the query does not read that column (a list of skills needs no body, and a
        skill's bodies, proposals included, may be megabytes). Raises StoreError."""

    @abc.abstractmethod
    def delete_skill_rows(self, ids: Sequence[str]) -> None:
        """Delete skills rows by id (a rejected or accepted proposal). Raises StoreError."""

    @abc.abstractmethod
    def count_session_rows(self, where: SessionFilter) -> int:
        """How many sessions rows (distinct ids) ``where`` matches. Raises ValueError for an
        empty filter, StoreError on failure."""

    @abc.abstractmethod
    def delete_session_rows(self, where: SessionFilter) -> None:
        """Delete the sessions rows ``where`` matches (``lakeloop forget``). Raises ValueError
        for an empty filter, StoreError on failure."""

    def memory_rows_matching(self, where: SessionFilter) -> list[tuple[str, int]]:
        """``[(path, rows)]``, by path: the memory-table rows (note and summary versions) ``where``
        matches, counted per path (``lakeloop forget``). Raises ValueError for an empty filter,
        StoreError on failure."""
        raise NotImplementedError

    def delete_memory_rows(self, where: SessionFilter) -> None:
        """Delete the memory-table rows ``where`` matches (``lakeloop forget``): a note whose
        every version matches is gone; otherwise its newest version left becomes its content.
        Raises ValueError for an empty filter, StoreError on failure."""
        raise NotImplementedError

    # memory path ------------------------------------------------------
    def memory_query(self, query: MemoryQuery) -> list[MemoryRecord]:
        """Answer one memory-path tool call with ONE SQL statement (one request on Deeplake):
        the records ``query`` asks for (``lakeloop.store.memory_types``). Raises StoreError."""
        raise NotImplementedError

    def insert_note(self, row: NoteRow) -> None:
        """Append one memory-table row for a note written through the memory path
        (append-only; the newest row of a path is its content). Raises StoreError."""
        raise NotImplementedError

    def put_memory_doc(self, row: NoteRow, *, unsure: bool = False, supersede: bool = False) -> None:
        """Write ``row`` (a memory-table document such as a session summary) idempotently by
        ``row.id``: a row whose id is stored is not stored again. ``unsure``: an earlier attempt
        may have stored it (Deeplake looks the id up first). ``supersede``: afterwards, delete the
        other rows at ``row.path`` so readers see one version. Raises StoreError."""
        raise NotImplementedError

    def recent_docs(self, prefix: str, project: str | None, limit: int = 8) -> list[MemoryRecord]:
        """The newest memory-table document of each path under ``prefix`` (``/summaries/``) whose
        ``project`` column is ``project`` (of every project when None), newest first, at most
        ``limit``: ``DOC`` records with path, text, author, project and date. One query. Raises
        StoreError."""
        raise NotImplementedError

    @abc.abstractmethod
    def outcome_uses(self, ref: str) -> list[OutcomeUse]:
        """The outcome rows of team skill ``ref`` (``<name>--<author>``), one ``OutcomeUse`` per
        (path, description) under ``/outcomes/<ref>/``, in no particular order. ONE statement on
        both stores (``memory_sql.outcome_uses_sql``: plain columns grouped, no JSON read in SQL,
        so another client's non-JSON row cannot fail it); a row whose description is not
        ``lakeloop-outcome v=<n|-> verdict=<verdict>`` (``memory_sql.OUTCOME_DESCRIPTION_RE``),
        whose path is not a file directly under the prefix ending in ``.json``, or whose
        ``creation_date`` is not an ISO-8601 time is dropped. Raises StoreError."""

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
        """The best matches for the words of ``query`` among session lines, notes and skills,
        best first (BM25 where the store has it), at most ``limit``; ``user``/``project``
        keep only rows (session lines, notes, skills) of that author/project. ``agent``: only
        session lines whose ``agent`` column is that text (notes, summaries and skills belong to no
        agent: none is returned); ``since`` (ISO-8601 UTC text, ``identity.utc_now``'s format): only
        session lines created, notes and summaries last written, and skill versions created at or
        after it. None or ``""``: no filter. One query (on Deeplake, the first search on a machine
        may also try the BM25 index and operator). Raises StoreError."""
        raise NotImplementedError

    def close(self) -> None:  # noqa: B027 - a default, not abstract: nothing to release  # pragma: no cover
        """Release connections."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def unique_rows(rows: Iterable[SessionRow]) -> list[SessionRow]:
    """``rows`` without repeated ids (the first copy kept, order kept). Every reader applies
    it: on Deeplake the visibility lag can let a re-sent event's second copy through."""
    seen: set[str] = set()
    out = []
    for row in rows:
        if row.id and row.id in seen:
            continue
        seen.add(row.id)
        out.append(row)
    return out


def count_types(rows: Iterable[SessionRow]) -> dict[str, int]:
    """``{message type: count}`` of ``rows``."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.type] = counts.get(row.type, 0) + 1
    return counts
