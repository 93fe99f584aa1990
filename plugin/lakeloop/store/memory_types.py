"""What the memory path (``lakeloop.memory``) asks of a store, and what a store answers: one query per tool call.

A ``MemoryQuery`` says which parts of the virtual tree a tool call needs; the store
answers it with ONE SQL statement (one HTTP request on Deeplake) as a list of
``MemoryRecord``. ``lakeloop.memory.tree.Tree`` turns the records into files.

Virtual paths are absolute POSIX paths inside the memory root: ``/``,
``/sessions/alice/alice_acme_default_<sid>.jsonl``, ``/skills/db-migrate--alice/SKILL.md``,
``/notes/todo.md``, ``/summaries/alice/<sid>.md`` (a session's summary: a memory-table row).
A directory prefix ends with ``/``; ``/`` is the whole tree.
"""

from __future__ import annotations

from ..records import dataclass, field

TYPE_CHECKING = False  # typing is not imported at run time (hook start-up time)
if TYPE_CHECKING:
    from collections.abc import Callable

#: record kinds (``MemoryRecord.kind``)
LINE = "line"  #: one line of a session file: path, line (1-based), text (the message JSON)
DOC = "doc"  #: a whole file: a skill's SKILL.md or a memory-table row (path, text, author, project, date)
ENTRY = "entry"  #: a file that exists (listing only): path
#: an /index.md session entry: path, author (user), project, date (latest event), text (the session's
#: summary when it has one, else its first prompt), note (that summary's path, "" without one)
SESSION = "session"
SKILL = "skill"  #: an /index.md skill entry: path (of SKILL.md), author, text (description), line (version), date


@dataclass(frozen=True)
class MemoryQuery:
    """Which parts of the tree one tool call needs.

    * ``prefixes``: virtual paths; a prefix ending in ``/`` means everything under that
      directory, any other value means exactly that file. Empty means nothing.
    * ``listing``: return an ``ENTRY`` for every file under the prefixes (ls, find, Glob,
      Read of a directory). Includes skills and memory rows.
    * ``content``: return file content under the prefixes: ``LINE`` records for session
      files, ``DOC`` records for skills and memory rows.
    * ``literals``: only with ``content``: when not None, session lines are narrowed to
      candidate lines containing at least one of these strings (ASCII case-insensitive
      substring: a superset of GNU grep's matches; each literal >= 3 characters), plus
      ``context`` = (before, after) neighbouring lines of every candidate. ``LINE.line`` is
      always the line number in the whole file (oldest event first, repeated ids counted once).
      DOC records are returned whole regardless (they are few and small).
    * ``case_sensitive``: with ``literals``: every selected line holds a literal exactly as
      written (a grep without ``-i``), so a store may narrow case-sensitively (Deeplake: ``LIKE``,
      cheaper than ``ILIKE``). False keeps the ASCII case-insensitive superset.
    * ``rank``: with ``literals``: ``MemoryRecord.score`` is set (higher = better match,
      BM25 where the store has it) so files can be ordered best first.
    * ``index``: return the ``SESSION`` (50 latest sessions, newest first, each with its
      summary when it has one) and ``SKILL`` records /index.md is rendered from.
    * ``matcher``: only with ``content`` and ``literals`` None: a callable ``(line text) -> bool``
      (GNU grep's selection, from ``lakeloop.memory.grep``); session lines are narrowed to
      those it selects, plus ``context``. The embedded store runs it inside SQLite, so lines
      it rejects never reach Python; a store that cannot (Deeplake) returns all lines, bounded
      by ``limit``.
    * ``limit``: at most this many ``LINE`` records (the first by path and line number, or the
      best by score with ``rank``); None for all. Bounds a hook's memory when a literal is in a
      large share of all events; the caller says so when ``limit`` records came back.
    """

    prefixes: tuple[str, ...] = ()
    listing: bool = False
    content: bool = False
    literals: tuple[str, ...] | None = None
    case_sensitive: bool = False
    context: tuple[int, int] = (0, 0)
    rank: bool = False
    index: bool = False
    limit: int | None = None
    matcher: Callable[[str], bool] | None = None

    @property
    def empty(self) -> bool:
        """True when the query asks for nothing (no store call needed)."""
        return not self.index and not (self.prefixes and (self.listing or self.content))


@dataclass(frozen=True)
class MemoryRecord:
    """One record of a store's answer to a ``MemoryQuery`` (see the kinds above). ``note``: only on
    ``SESSION`` records, the virtual path of the session's summary (``/summaries/<user>/<id>.md``),
    ``""`` when it has none."""

    kind: str
    path: str
    text: str = ""
    line: int = 0
    author: str = ""
    project: str = ""
    date: str = ""
    score: float = 0.0
    note: str = ""


@dataclass(frozen=True)
class NoteRow:
    """A note written through the memory path: one row of the memory table (docs/deeplake-store.md).

    ``path`` is the virtual path (``/notes/x.md``); ``text`` the whole file content after the
    write (``>>`` appends are resolved before the row is written); ``id`` a uuid4 hex;
    ``date`` ISO-8601 UTC. Append-only: the newest row of a path is its content.
    """

    id: str
    path: str
    text: str
    author: str
    project: str
    date: str
    agent: str = "claude_code"
    description: str = "note"


@dataclass(frozen=True)
class SearchHit:
    """One ``lakeloop search`` result: a session line or a document (a note, a session summary, a
    skill), best first.

    ``score``: higher is better (BM25 where the store has it); ``line`` 0 for documents.
    """

    path: str
    line: int
    text: str
    author: str = ""
    project: str = ""
    date: str = ""
    score: float = 0.0
    extra: dict = field(default_factory=dict)
