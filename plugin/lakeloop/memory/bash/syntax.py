"""Shared types of the memory path's Bash parser (``lakeloop.memory.bash``): what the cheap scan,
the lexer, the option parsing, the parser and the runner all use, so that each of them depends on
this module and not on the others.

``CommandRefused`` (the one error of the parser), ``show`` (user text quoted in a refusal), the
value classes ``Record``, ``Stage``, ``Write`` and ``Script`` (what ``parser.parse`` returns and
``runner.run`` runs), ``Ctx`` (the parse context: root, home, cwd, guards; turns path operands
into virtual paths and raises ``CommandRefused``), ``MAX_COMMAND_CHARS``, and the path helpers
``norm_root``, ``is_ancestor`` and ``holds_home`` that the cheap test (``scan.touches_memory``)
shares with ``Ctx``. Standard library only and small: it is imported on every Bash call the
PreToolUse prefilter lets through.
"""

from __future__ import annotations

import re

from ...errors import MemoryRefused
from ...textsafe import escape_line

TYPE_CHECKING = False
if TYPE_CHECKING:  # no typing at run time: imported on every Bash call
    from typing import Any, NoReturn

#: Everything but the characters a loose spelling of the memory root keeps (letters, digits, ``._-``).
LOOSE = re.compile(r"[^a-z0-9._-]+")
#: The longest command (characters) the memory path reads; a longer one touching it is refused.
MAX_COMMAND_CHARS = 65536


class CommandRefused(MemoryRefused):
    """A Bash command touches the memory path (or a guarded path beside it) but is not one of
    the accepted forms.

    ``reason`` (also ``str()``): one line for the agent, control characters escaped: what was
    not accepted and what to do instead.
    """

    def __init__(self, reason: str) -> None:
        reason = escape_line(reason)
        super().__init__(reason)
        self.reason = reason


def show(text: str, limit: int = 120) -> str:
    """User text quoted in a refusal: one line, at most ``limit`` characters."""
    text = escape_line(text)
    return text if len(text) <= limit else text[:limit] + "…"


class Record:
    """A small value class (like a dataclass, without importing dataclasses): fields in
    ``__slots__``, equality and repr over them."""

    __slots__: tuple[str, ...] = ()
    __hash__ = None  # type: ignore[assignment]  # unhashable, compared by value: the idiom typeshed uses too

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and all(getattr(self, f) == getattr(other, f) for f in self.__slots__)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(" + ", ".join(f"{f}={getattr(self, f)!r}" for f in self.__slots__) + ")"


class Stage(Record):
    """One command of a pipeline.

    ``name``: one of ``parser.COMMANDS``. ``options``: per command (all keys always present):

    * cat: ``number`` (bool, ``-n``)
    * head: ``lines`` (int), ``all_but`` (bool: ``-n -N``)
    * tail: ``lines`` (int), ``from_start`` (bool: ``-n +N``)
    * ls: ``all``, ``almost_all``, ``long``, ``recursive`` (bools); ``implicit`` (bool: no
      operand was given, the working directory is listed without a header)
    * grep: ``grep`` (``lakeloop.memory.grep.GrepOptions``; ``with_filename`` decided at
      run time unless ``filename`` is set), ``filename`` (True ``-H``, False ``-h``, None),
      ``recursive``, ``quiet``, ``no_messages`` (bools)
    * wc: ``lines``, ``words``, ``chars``, ``bytes`` (bools, GNU order)
    * find: ``tests`` (list of ``("name"|"iname", pattern)`` / ``("type", "f"|"d")``,
      all must hold), ``maxdepth`` (int or None), ``mindepth`` (int)
    * echo: ``newline`` (bool: False with ``-n``)

    ``operands``: virtual paths of the path operands (``/`` for the root); for echo, the
    words to print. ``display``: each path operand as the shell would pass it to the
    program (``~`` expanded), which is what GNU tools print (``''`` for grep's implicit
    working directory).
    """

    __slots__ = ("name", "options", "operands", "display")

    def __init__(
        self, name: str, options: dict[str, Any], operands: list[str], display: list[str] | None = None
    ) -> None:
        self.name, self.options, self.operands = name, options, operands
        self.display = [] if display is None else display


class Write(Record):
    """A note write: ``op`` ``'>'`` (replace) or ``'>>'`` (append), ``vpath`` the target,
    ``text`` the bytes the command writes (echo output or heredoc body), ``display`` the
    target as written (expanded)."""

    __slots__ = ("op", "vpath", "text", "display")

    def __init__(self, op: str, vpath: str, text: str, display: str = "") -> None:
        self.op, self.vpath, self.text, self.display = op, vpath, text, display


class Script(Record):
    """A parsed command (``parser.parse``): ``stages`` of a pipeline (first stage reads memory paths or
    ``stdin``), ``write`` when the command writes a note (then ``stages`` holds the single
    echo/cat stage producing ``write.text``), ``stdin`` the heredoc body fed to a first
    ``cat`` stage."""

    __slots__ = ("stages", "write", "stdin")

    def __init__(self, stages: list[Stage], write: Write | None = None, stdin: str | None = None) -> None:
        self.stages, self.write, self.stdin = stages, write, stdin


def norm_root(root: str) -> str:
    """``root`` as an absolute path without empty or ``.`` segments (``"a//./b/"`` -> ``"/a/b"``);
    ``..`` is kept as is."""
    return "/" + "/".join(p for p in root.split("/") if p and p != ".")


def is_ancestor(a: str, b: str) -> bool:
    """Is the normalised path ``b`` under ``a`` (``/`` holds every path, itself included)?"""
    return a == "/" or b.startswith(a + "/")


def holds_home(path: str, home: str) -> bool:
    """Is ``path`` the home directory or a directory above it?"""
    return path == "/" or path == home or home.startswith(path.rstrip("/") + "/")


class Ctx:
    """The context of one ``parser.parse``: the memory ``root``, ``home``, ``cwd`` and
    ``guards`` (normalised absolute paths), the refusal ``hint``; ``memory`` (some path
    operand is inside the root) and ``host`` (the path operands outside it, as shown) are
    filled while parsing. ``refuse`` raises ``CommandRefused``."""

    def __init__(self, root: str, home: str, cwd: str, guards: tuple[str, ...] = ()) -> None:
        self.root, self.home, self.cwd = root, home, cwd
        self.guards = tuple(norm_root(g) for g in guards if g)
        self.hint = _hint(root)
        self.memory = False  # some path operand is inside the root
        self.host: list[str] = []  # path operands outside the root

    def refuse(self, what: str, instead: str = "") -> NoReturn:
        """Raise ``CommandRefused``: ``what`` was not accepted; ``instead`` (default: the hint) what to do."""
        raise CommandRefused(f"{what}; {instead or self.hint}")

    def path(self, text: str, display: str | None = None) -> str | None:
        """The virtual path of a path operand, or None for a host path (recorded in ``host``).
        Raises ``CommandRefused`` for an empty operand, ``..`` near the root, a path containing
        or imitating the root, a glob in a memory path, or a guarded host path."""
        shown = show(text if display is None else display)
        if not text:
            self.refuse("An empty path operand")
        p = text if text.startswith("/") else self.cwd.rstrip("/") + "/" + text
        segs = p.split("/")
        parts = [x for x in segs if x and x != "."]
        norm = "/" + "/".join(parts)
        root = self.root
        inside = norm == root or norm.startswith(root + "/")
        if ".." in segs:
            import posixpath

            resolved = posixpath.normpath(p)
            if inside or resolved == root or resolved.startswith(root + "/") or _looks_like(p, root):
                self.refuse(
                    f"`..` in the memory path ({shown})", "name paths under " + root + " directly; " + self.hint
                )
            self.guard(resolved, shown)
            self.host.append(shown)
            return None
        if not inside and is_ancestor(norm, root) and norm.startswith(self.home.rstrip("/") + "/"):
            self.refuse(
                f"{shown} contains the memory path",
                f"name the memory path itself ({root}) or a host path beside it; " + self.hint,
            )
        if not inside:
            low = norm.lower()
            if low == root.lower() or low.startswith(root.lower() + "/") or _looks_like(p, root):
                self.refuse(
                    f"{shown} looks like the memory path but is not it", f"write it exactly as {root}/...; " + self.hint
                )
            self.guard(norm, shown)
            self.host.append(shown)
            return None
        if any(ch in text[len(root) :] for ch in "*?["):
            self.refuse(
                f"Glob characters in a memory path ({shown})",
                f"name files exactly, or list them with `find {root} -name 'PATTERN'`",
            )
        self.memory = True
        return norm[len(root) :] or "/"

    def guard(self, norm: str, shown: str) -> None:
        """Refuse a host path at or under a guard (lakeloop's credentials, ``~/.deeplake``), or an
        ancestor of one strictly below the home directory or its own directory when that is not
        the home directory or above (a recursive read reaches it); case is ignored (a
        case-insensitive file system finds ``~/.DeepLake`` too)."""
        low = norm.lower()
        home = self.home.rstrip("/").lower()
        for g in self.guards:
            gl = g.lower()
            if low == gl or low.startswith(gl + "/"):
                self.refuse(
                    f"{shown} is lakeloop's Deeplake directory or credentials file ({g})",
                    "tool calls may not read or change it; " + self.hint,
                )
            parent = gl.rsplit("/", 1)[0] or "/"
            if gl.startswith(low.rstrip("/") + "/") and (
                low.startswith(home + "/") or (low == parent and not holds_home(low, home))
            ):
                self.refuse(
                    f"{shown} contains lakeloop's credentials file ({g})", "name a path beside it; " + self.hint
                )


def _looks_like(path: str, root: str) -> bool:
    comps = [c for c in root.lower().split("/") if c]
    loose = "".join(comps[-2:])
    low = path.lower()
    if not path.isascii():
        import unicodedata

        low = unicodedata.normalize("NFKC", low).lower()
    return len(loose) >= 8 and loose in LOOSE.sub("", low)


def _hint(root: str) -> str:
    return (
        f"on the memory path use one command such as `cat {root}/index.md`, "
        f"`grep -rn TERM {root} | head -20`, `ls {root}/sessions` or `find {root} -name 'PATTERN'` "
        f"(cat, head, tail, ls, grep, wc, find, echo and pipes between them); "
        f"to leave a note: `echo 'TEXT' >> {root}/notes/NAME.md`"
    )
