"""The virtual tree of one tool call, built from one store answer (``MemoryRecord`` list).

``Tree(records)`` knows the files the records name and their lines. A session file
whose lines were narrowed (``MemoryQuery.literals``) is *sparse*: ``lines(path)`` gives
only the candidate lines and their neighbours, each with its real line number, which is
all grep needs. ``/index.md`` exists whenever the query asked for ``index`` or a listing
of the root, and is rendered from SESSION and SKILL records.

Directories are implied by file paths (``/sessions/alice/`` exists when a file below it
does); ``/``, ``/sessions`` and ``/skills`` always exist.
"""

from __future__ import annotations

from ..store.memory_types import DOC, ENTRY, LINE, SESSION, SKILL, MemoryRecord

TYPE_CHECKING = False  # typing is not imported at run time (hook start-up time)
if TYPE_CHECKING:
    from collections.abc import Iterable

INDEX = "/index.md"
#: Most session lines one search reads from the store (``MemoryQuery.limit``): bounds a hook's
#: memory when a pattern selects a large share of all events.
LINE_LIMIT = 5000
#: Directories that exist even when empty.
FIXED_DIRS = ("/", "/sessions", "/skills")


def norm(vpath: str) -> str:
    """``vpath`` without a trailing ``/`` (``/`` stays ``/``)."""
    return vpath.rstrip("/") or "/"


def parent(vpath: str) -> str:
    """The parent directory of ``vpath`` (``/`` for top-level entries)."""
    return vpath.rsplit("/", 1)[0] or "/"


class Tree:
    """Files and lines of the memory path as one store answer shows them.

    ``records``: the store's answer; ``index``: True when /index.md should exist (rendered
    from SESSION/SKILL records; pass False when the query did not ask for them).
    ``extra_docs``: ``{vpath: text}`` overlaid on the records (this session's own notes
    that the store may not show yet: read-your-writes).
    """

    def __init__(
        self, records: Iterable[MemoryRecord], index: bool = False, extra_docs: dict[str, str] | None = None
    ) -> None:
        self._lines: dict[str, dict[int, str]] = {}
        self._docs: dict[str, str] = {}
        self._files: set[str] = set()
        #: ``{path: score}`` for ranked answers (higher = better): the sum of the file's line scores
        self.scores: dict[str, float] = {}
        self.meta: dict[str, MemoryRecord] = {}
        #: how many LINE records the store returned (``MemoryQuery.limit`` reached when equal)
        self.line_records = 0
        sessions: list[MemoryRecord] = []
        skills: list[MemoryRecord] = []
        for rec in records:
            if rec.kind == LINE:
                self.line_records += 1
                self._lines.setdefault(rec.path, {}).setdefault(rec.line, rec.text)
                self._files.add(rec.path)
            elif rec.kind == DOC:
                self._docs.setdefault(rec.path, rec.text)
                self._files.add(rec.path)
                self.meta.setdefault(rec.path, rec)
            elif rec.kind == ENTRY:
                self._files.add(rec.path)
            elif rec.kind == SESSION:
                sessions.append(rec)
            elif rec.kind == SKILL:
                skills.append(rec)
            if rec.score and rec.path:  # a file's score: the sum of its lines' (BM25 per line)
                self.scores[rec.path] = self.scores.get(rec.path, 0.0) + rec.score
        for path, text in (extra_docs or {}).items():
            self._docs[path] = text
            self._files.add(path)
        self._files.discard(INDEX)
        self._docs.pop(INDEX, None)
        if index:
            self._docs[INDEX] = render_index(sessions, skills)
            self._files.add(INDEX)
        self._dirs: set[str] = set(FIXED_DIRS)
        for path in self._files:
            d = parent(path)
            while d not in self._dirs:
                self._dirs.add(d)
                d = parent(d)

    # queries ----------------------------------------------------------------
    def kind(self, vpath: str) -> str | None:
        """``"file"``, ``"dir"`` or None (absent) for ``vpath``."""
        p = norm(vpath)
        if p in self._files:
            return "file"
        if p in self._dirs:
            return "dir"
        return None

    def listdir(self, vpath: str) -> list[str]:
        """Names directly under directory ``vpath``, sorted (byte order). [] if absent."""
        p = norm(vpath)
        prefix = "/" if p == "/" else p + "/"
        names = {
            x[len(prefix) :].split("/", 1)[0]
            for x in (*self._files, *self._dirs)
            if x.startswith(prefix) and x != p and len(x) > len(prefix)
        }
        return sorted(names)

    def files_under(self, vpath: str) -> list[str]:
        """Every file at or under ``vpath`` (recursive), sorted by path."""
        p = norm(vpath)
        if p in self._files:
            return [p]
        prefix = "/" if p == "/" else p + "/"
        return sorted(x for x in self._files if x.startswith(prefix))

    def dirs_under(self, vpath: str) -> list[str]:
        """Every directory strictly under ``vpath`` (recursive), sorted."""
        p = norm(vpath)
        prefix = "/" if p == "/" else p + "/"
        return sorted(x for x in self._dirs if x.startswith(prefix) and x != p)

    def lines(self, vpath: str) -> list[tuple[int, str]]:
        """``[(line number, text)]`` of file ``vpath`` in order (sparse for a narrowed
        session file). [] for an absent or empty file."""
        p = norm(vpath)
        if p in self._docs:
            text = self._docs[p]
            parts = text.split("\n")
            if parts and parts[-1] == "":
                parts.pop()
            return list(enumerate(parts, 1))
        got = self._lines.get(p)
        return sorted(got.items()) if got else []

    def text(self, vpath: str) -> str:
        """The whole content of file ``vpath``: its lines joined, each ending in ``\\n``
        (a document keeps its own final newline or lack of one)."""
        p = norm(vpath)
        if p in self._docs:
            return self._docs[p]
        return "".join(t + "\n" for _, t in self.lines(p))

    def size(self, vpath: str) -> int:
        """UTF-8 size in bytes of file ``vpath`` as ``text`` shows it."""
        return len(self.text(vpath).encode("utf-8", "surrogatepass"))


def render_index(sessions: list[MemoryRecord], skills: list[MemoryRecord]) -> str:
    """/index.md: the latest sessions (newest first) and the team skills, as markdown.

    A session with a summary (``MemoryRecord.note``, its path) is shown with the first sentence
    of the summary's "What Happened" (``summaries.recall.first_sentence``) and that path; one
    without, with its first prompt. Every captured value is data: it is shown on one line, with
    line breaks and pipes escaped, and cut to 200 characters.
    """
    out = [
        "# Team memory",
        "",
        "Generated by lakeloop from the store. Read a file below, or search everything:",
        "`grep -rn TERM <memory path>` (Bash) or the Grep tool on the memory path.",
        "",
        f"## Latest sessions ({len(sessions)}, newest first)",
        "",
        "| time | user | project | what happened (summary), else the first prompt | path | summary |",
        "|---|---|---|---|---|---|",
    ]
    for s in sessions:
        told = s.text
        if s.note:
            from ..summaries.recall import first_sentence

            told = first_sentence(s.text)
        out.append(
            f"| {_cell(s.date)} | {_cell(s.author)} | {_cell(s.project)} | {_cell(told)} | {_cell(s.path)} "
            f"| {_cell(s.note)} |"
        )
    out += ["", f"## Team skills ({len(skills)})", "", "| skill | version | description | path |", "|---|---|---|---|"]
    for k in sorted(skills, key=lambda r: r.path):
        name = k.path.split("/")[2] if k.path.count("/") >= 3 else k.path
        out.append(f"| {_cell(name)} | {k.line} | {_cell(k.text)} | {_cell(k.path)} |")
    return "\n".join(out) + "\n"


def _cell(value: str, limit: int = 200) -> str:
    text = " ".join(str(value).split()).replace("|", "\\|").replace("`", "'")
    return text if len(text) <= limit else text[:limit] + "…"
