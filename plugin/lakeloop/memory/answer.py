"""PreToolUse answers for tool calls on the memory path.

``handle(payload, log)`` returns the hook output (a dict to print as JSON) for a tool call
that touches the memory path, or None to let the call pass through untouched.

Each answer costs ONE store query (``Store.memory_query``), then:

* Read: the file (or a directory listing) is written to a private answer file and the
  Read is redirected to it (``updatedInput.file_path``); offset/limit keep working.
* Grep: run with GNU grep semantics (``lakeloop.memory.grep``; the pattern is read as an
  extended regular expression) over the virtual tree; the result is written to an answer
  file and the Grep is redirected to print that file's lines verbatim.
* Glob: matching virtual paths, newest-first order is not known, so sorted by path.
* Bash: a command built only from the forms ``lakeloop.memory.bash.parser`` accepts runs on
  the virtual tree (``lakeloop.memory.bash.runner``); the host shell only runs
  ``cat -- <answer file>`` (our own path, quoted): no captured byte reaches a shell.
  ``echo ... > / >> PATH`` and heredocs store a note (``lakeloop.memory.notes``).
* Write, Edit, MultiEdit, NotebookEdit: denied with a one-line reason.

Stored text is shown, never obeyed: every answer (file text, listings, grep lines, Glob lists,
Bash output, deny reasons) has its control and bidi characters turned into visible escapes by
``lakeloop.textsafe.escape`` after matching and counting, so line numbers and counts are those
of the stored text.

Beside the root, the host paths ``lakeloop.memory.paths.guarded`` names (lakeloop's credentials
file, ``~/.deeplake``) are refused to every tool: Read, Write and the edit tools on them, Grep
and Glob on them or on a directory above them whose search could select the credentials file
(``paths.search_reaches``), and Bash commands that may name them (``bash.scan.touches_memory``) or
reach them without naming them (``reach.reason``: a tree walk from home or above, names computed at
run time next to the home directory).
A memory root that exists on disk (it never should: the tree is virtual) is refused too: every
answer is denied, a line is logged and the user gets a notice at the next session start.

Anything refused (hostile or not understood) is denied with guidance, never run. Output
is capped at ``MAX_LINES`` lines and ``MAX_BYTES`` bytes with a line saying how much was
left out. Answer files live in ``<data dir>/memory-answers`` (0600) and are removed after
``ANSWER_TTL_S`` seconds.
"""

from __future__ import annotations

import json
import os
import time

from ..errors import MemoryRefused
from ..textsafe import escape
from . import paths as mpaths

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from collections.abc import Set as AbstractSet
    from typing import Any

    from ..store.memory_types import MemoryQuery
    from .tree import Tree

#: Output caps of one answer (Grep content/count/files, Glob, Bash).
MAX_LINES = 250
MAX_BYTES = 30_000
#: Longest line of a Grep tool answer (UTF-8 bytes); a longer line is cut around its match
#: (Claude Code 2.1.330's Grep replaces a line over 500 bytes by "[Omitted long matching line]").
MAX_LINE_BYTES = 480
#: Seconds an answer file is kept (Claude Code reads it right after the hook returns).
ANSWER_TTL_S = 600.0

READ_TOOLS = frozenset({"Read"})
WRITE_TOOLS = frozenset({"Write", "Edit", "MultiEdit", "NotebookEdit"})
_PATH_KEYS = {
    "Read": "file_path",
    "Write": "file_path",
    "Edit": "file_path",
    "MultiEdit": "file_path",
    "NotebookEdit": "notebook_path",
    "Grep": "path",
    "Glob": "path",
}


class AnswerDenied(MemoryRefused):
    """The memory path denies the tool call; ``str()`` is the one-line reason shown to the agent
    (``handle`` turns it into a PreToolUse deny)."""


#: Whole-answer deadline (seconds): past it the call is denied. Claude Code kills a PreToolUse
#: hook after its 5 s timeout (hooks.json) and then lets the tool call run unanswered, so every
#: memory answer (parsing, the store query, a backtracking regex inside SQLite) must end first.
DEADLINE_S = 4.0


class _Late(BaseException):
    """Raised by the deadline's SIGALRM inside whatever runs (``re`` and SQLite check signals).

    A control-flow signal, not an error: it derives from ``BaseException`` so that it escapes
    every ``except Exception`` on the way (the answer's own fail-closed crash handler, a store's
    or a library's error handling) up to ``handle``, which turns it into the deadline's deny."""


_deadline_at = float("inf")  # monotonic time of the current answer's deadline


def handle(payload: dict[str, Any], log: logging.Logger) -> dict[str, Any] | None:
    """The hook output for a memory-path tool call, or None (not ours: pass through). Fails
    closed: a crash or the ``DEADLINE_S`` deadline on a memory-path call gives a deny."""
    import signal

    def late(signum: int, frame: Any) -> None:
        raise _Late()

    try:
        previous = signal.signal(signal.SIGALRM, late)
    except ValueError:  # not the main thread (only in tests): no deadline
        return _handle(payload, log)
    global _deadline_at
    _deadline_at = time.monotonic() + DEADLINE_S
    signal.setitimer(signal.ITIMER_REAL, DEADLINE_S)
    try:
        return _handle(payload, log)
    except _Late:
        log.warning("memory %s: no answer within %.1f s: denied", str(payload.get("tool_name"))[:40], DEADLINE_S)
        return _deny(
            f"Team memory could not answer within {DEADLINE_S:.0f} s; narrow the pattern or path "
            "(a pattern with a literal word of 3+ characters is fast) and try again."
        )
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _handle(payload: dict[str, Any], log: logging.Logger) -> dict[str, Any] | None:
    tool = payload.get("tool_name")
    ti = payload.get("tool_input")
    if isinstance(ti, str) and (tool == "Bash" or tool in _PATH_KEYS):
        # lakeloop.boundedjson kept an over-large tool_input as its cut JSON text, or an agent's
        # normaliser could not read an argument as a path: it cannot be checked, and this payload
        # mentions the memory path somewhere: refuse, never pass through.
        log.warning("memory: %s call too large or unreadable to check (%d bytes): denied", tool, len(ti))
        return _deny(
            "This tool call is too large to check against the memory path, or names a directory that "
            "cannot be read as a path; split it into smaller calls with plain paths."
        )
    if not isinstance(ti, dict) or not isinstance(tool, str):
        return None
    if tool == "Glob" and isinstance(ti.get("pattern"), list):
        return _each_glob(payload, ti["pattern"], log)
    cwd = payload.get("cwd") if isinstance(payload.get("cwd"), str) else None
    root = mpaths.root()
    started = time.monotonic()
    try:
        if tool == "Bash":
            out = _bash(ti, root, cwd, payload, log)
        elif tool in _PATH_KEYS:
            raw = ti.get(_PATH_KEYS[tool])
            if raw is None and tool in ("Grep", "Glob"):
                raw = cwd
            if not isinstance(raw, str):
                return None
            vpath = mpaths.virtual(raw, cwd, root)
            if vpath is None:
                if tool in WRITE_TOOLS and "memory-answers" in raw and _in_answer_dir(raw):
                    raise AnswerDenied(
                        "That file is a lakeloop answer to an earlier tool call on the memory path; "
                        "it cannot be edited."
                    )
                why = _guarded(tool, ti, raw, cwd, root)
                if why:
                    log.warning("memory: %s on a guarded path denied", tool)
                    raise AnswerDenied(why)
                return None
            if tool in WRITE_TOOLS:
                raise AnswerDenied(
                    f"The memory path is read-only. To leave a note run Bash: "
                    f"echo 'TEXT' >> {root}/notes/NAME.md ; to read: {mpaths.root_hint(root)}."
                )
            out = {"Read": _read, "Grep": _grep, "Glob": _glob}[tool](ti, vpath, root, log)
        else:
            return None
    except mpaths.PathRefused as exc:
        out = _deny(f"{exc}. {mpaths.root_hint(root).capitalize()}.")
    except AnswerDenied as exc:
        out = _deny(str(exc))
    except Exception as exc:  # fail closed: a crash must never let a memory-path call reach the host
        log.exception("memory %s answer crashed: %s", tool, type(exc).__name__)
        out = _deny(
            f"lakeloop could not check this call on the memory path ({type(exc).__name__}); {mpaths.root_hint(root)}."
        )
    if out is not None:  # a refusal or a Glob answer is logged; an allow only with LAKELOOP_DEBUG,
        # since configuring logging would cost an answer ~10 ms
        decision = out["hookSpecificOutput"]["permissionDecision"]
        from .. import config

        if decision != "allow" or config.debug():
            log.info("memory %s %s in %.1f ms", tool, outcome(out), (time.monotonic() - started) * 1000)
    return out


def _each_glob(payload: dict[str, Any], patterns: list[Any], log: logging.Logger) -> dict[str, Any] | None:
    """A Glob with a list of patterns (Gemini CLI's ``read_many_files`` includes, each a glob from
    the cwd): each pattern checked as its own Glob call, in order; the first answer (a deny, or a
    Glob answer, which is a deny too) is the answer; None when every pattern passes. A pattern that
    is not a non-empty string is refused."""
    for pattern in patterns:
        if not isinstance(pattern, str) or not pattern:
            return _deny("Every include of this call must be a non-empty path or glob pattern.")
        out = _handle({**payload, "tool_input": {**payload["tool_input"], "pattern": pattern}}, log)
        if out is not None:
            return out
    return None


def outcome(out: dict[str, Any]) -> str:
    """What a PreToolUse answer ``out`` did, for the log: ``answered`` (an allow redirected to an
    answer file), ``answered (N paths)`` (a Glob answer: in Claude Code's protocol a deny whose
    reason is the list, ``_deny_as_answer``) or ``denied``."""
    hso = out["hookSpecificOutput"]
    if hso["permissionDecision"] == "allow":
        return "answered"
    reason = str(hso.get("permissionDecisionReason", ""))
    if reason.startswith(GLOB_ANSWER):
        listed = reason[len(GLOB_ANSWER) :].splitlines()
        count = 0 if listed == ["No files found"] else len(listed)
        left_out = listed[-1].split()[1] if listed and listed[-1].startswith(CAP_NOTE) else ""
        if left_out.isdigit():  # cap()'s last line says how many more there were
            count += int(left_out) - 1
        return f"answered ({count} path{'' if count == 1 else 's'})"
    return "denied"


def _guarded(tool: str, ti: dict[str, Any], raw: str, cwd: str | None, root: str) -> str | None:
    """The deny reason when a host-path tool call would read or change a guarded path
    (``lakeloop.memory.paths.guarded``), or search a directory from which it could reach the
    credentials file or the memory root's directory (Grep, Glob); else None. The path is taken as
    spelled and, when it exists through a symlink, as its real path (``paths.guard_reason``,
    ``paths.search_reaches``)."""
    path = mpaths.host_path(raw, cwd)  # `~/.`, `//`, `/./` read as what they name; symlinks: below
    if path is None:
        return None
    if tool not in ("Grep", "Glob"):
        return mpaths.guard_reason(path, root)
    pattern = ti.get("pattern") if tool == "Glob" else ti.get("glob")
    return mpaths.search_reaches(path, pattern if isinstance(pattern, str) and pattern else None, root)


# decisions -------------------------------------------------------------------------------
def _allow(updated: dict[str, Any]) -> dict[str, Any]:
    return {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "allow",
            "permissionDecisionReason": "answered by lakeloop from team memory",
            "updatedInput": updated,
        }
    }


def _deny(reason: str) -> dict[str, Any]:
    return {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": " ".join(escape(reason).split())[:1000],
        }
    }


# the one store query ---------------------------------------------------------------------
def _fetch(query: MemoryQuery, log: logging.Logger) -> Tree:
    """Run ``query`` on the store in use (one query) and build the tree, this machine's
    recent notes overlaid. Raises AnswerDenied when the store cannot answer."""
    from ..errors import LakeloopError
    from . import notes
    from .tree import Tree

    _refuse_on_disk(log)
    records = []
    if not query.empty:
        from ..store import open_store

        try:
            with open_store(light=True) as store:
                records = store.memory_query(query)
        except (LakeloopError, OSError) as exc:
            if time.monotonic() >= _deadline_at - 0.05 or "interrupted" in str(exc):
                raise _Late() from None  # the deadline, turned into an error by SQLite
            log.warning("memory query failed: %s: %s", type(exc).__name__, str(exc)[:200])
            raise AnswerDenied(
                f"Team memory is unavailable right now ({type(exc).__name__}); try again later."
            ) from None
    extra = notes.overlay(query.prefixes) if query.prefixes else {}
    return Tree(records, index=query.index, extra_docs=extra)


def _refuse_on_disk(log: logging.Logger) -> None:
    """Deny (and log, and leave the user a notice) when the memory root exists on disk: it never
    should, so whatever is there was not put there by lakeloop, and answering from the virtual tree
    under a path that also exists for real would let other tools read the disk copy unnoticed."""
    root = mpaths.root()
    kind = mpaths.on_disk(root)
    if kind is None:
        return
    from .. import notices

    posted = notices.memory_root_on_disk(root, kind)
    log.warning(
        "memory root %s exists on disk (a %s): memory answers refused until it is removed%s",
        root,
        kind,
        "; notice posted for the next session start" if posted else "",
    )
    raise AnswerDenied(
        f"{root} exists on disk (a {kind} lakeloop did not create), so lakeloop does not answer from "
        "the memory path until the user removes it; the user is told at the next session start. "
        "Do not create, change or delete anything there."
    )


# answer files ------------------------------------------------------------------------------
def _answer_dir() -> str:
    from .. import paths

    d = paths.data_dir() / "memory-answers"
    paths.private_dir(d)
    return str(d)


def _in_answer_dir(path: str) -> bool:
    from .. import paths

    d = os.path.realpath(str(paths.data_dir() / "memory-answers"))
    return os.path.realpath(os.path.expanduser(path)).startswith(d + os.sep)


def answer_file(text: str) -> str:
    """Write ``text`` to a new private answer file and return its absolute path (only
    characters ``[A-Za-z0-9/._-]`` of our own choosing besides the data dir). Old answer
    files are removed."""
    d = _answer_dir()
    now = time.time()
    try:
        with os.scandir(d) as it:
            for e in it:
                try:
                    if now - e.stat(follow_symlinks=False).st_mtime > ANSWER_TTL_S:
                        os.unlink(e.path)
                except OSError:
                    pass
    except OSError:
        pass
    path = os.path.join(d, f"{os.urandom(16).hex()}.txt")  # 32 hex digits, as uuid4().hex without its import
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as fh:
        fh.write(text)
    return path


#: Start of the line ``cap`` adds when it left lines out.
CAP_NOTE = "[lakeloop:"


def cap(
    lines: list[str], total: int | None = None, max_lines: int = MAX_LINES, max_bytes: int = MAX_BYTES
) -> list[str]:
    """``lines`` cut to ``max_lines`` lines and ``max_bytes`` bytes, with a last line saying
    how many lines were left out (``total``: the full count when ``lines`` is already cut)."""
    total = len(lines) if total is None else total
    out: list[str] = []
    size = 0
    for line in lines[:max_lines]:
        size += len(line.encode("utf-8", "surrogatepass")) + 1
        if size > max_bytes and out:
            break
        out.append(line)
    if total > len(out):
        out.append(
            f"{CAP_NOTE} {total - len(out)} more lines left out (cap: {max_lines} lines, "
            f"{max_bytes} bytes); narrow the path or pattern, or use head_limit/offset]"
        )
    return out


def limited_line(limit: int) -> str:
    """The line added when a grep read ``limit`` session lines (``MemoryQuery.limit``)."""
    return (
        f"[lakeloop: the store returned its limit of {limit} session lines for this search, so "
        "matches past them are not shown; narrow the pattern or the path]"
    )


# Read ----------------------------------------------------------------------------------------
def _read_query(vpath: str) -> MemoryQuery:
    from ..store.memory_types import MemoryQuery

    parts = [p for p in vpath.split("/") if p]
    if vpath == "/index.md":
        return MemoryQuery(index=True)
    if not parts:
        return MemoryQuery(prefixes=("/",), listing=True, index=True)
    if parts[0] in ("sessions", "skills") and len(parts) <= 2:
        return MemoryQuery(prefixes=(vpath + "/",), listing=True)
    if parts[0] in ("sessions", "skills"):
        return MemoryQuery(prefixes=(vpath,), content=True)
    return MemoryQuery(prefixes=(vpath, vpath + "/"), listing=True, content=True)


def listing_text(tree: Tree, vpath: str, root: str) -> str:
    """A directory listing: one name per line, directories with a trailing ``/``."""
    names = tree.listdir(vpath)
    base = vpath.rstrip("/")
    shown = [n + "/" if tree.kind(f"{base}/{n}") == "dir" else n for n in names]
    head = f"Directory {mpaths.real(vpath, root)} (team memory, read-only; {len(names)} entries):"
    return "\n".join([head, *cap(shown, max_lines=2000, max_bytes=200_000)]) + "\n"


def _read(ti: dict[str, Any], vpath: str, root: str, log: logging.Logger) -> dict[str, Any]:
    tree = _fetch(_read_query(vpath), log)
    kind = tree.kind(vpath)
    if kind is None:
        raise AnswerDenied(
            f"No such file in team memory: {mpaths.real(vpath, root)}. {mpaths.root_hint(root).capitalize()}."
        )
    text = tree.text(vpath) if kind == "file" else listing_text(tree, vpath, root)
    updated = dict(ti)
    updated["file_path"] = answer_file(escape(text))
    return _allow(updated)


# Grep -------------------------------------------------------------------------------------
def _int(value: Any, default: int = 0) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return default


def _grep(ti: dict[str, Any], vpath: str, root: str, log: logging.Logger) -> dict[str, Any]:
    from ..store.memory_types import MemoryQuery
    from . import grep as g

    pattern = ti.get("pattern")
    if not isinstance(pattern, str):
        raise AnswerDenied("Grep needs a pattern.")
    mode = (
        ti.get("output_mode")
        if ti.get("output_mode") in ("content", "files_with_matches", "count")
        else "files_with_matches"
    )
    ctx = _int(ti.get("-C", ti.get("context", 0)))
    opts = g.GrepOptions(
        patterns=(pattern,),
        mode="E",
        ignore_case=bool(ti.get("-i")),
        line_number=mode == "content" and ti.get("-n", True) is not False,
        count=mode == "count",
        files_with_matches=mode == "files_with_matches",
        before=_int(ti.get("-B"), ctx) if mode == "content" else 0,
        after=_int(ti.get("-A"), ctx) if mode == "content" else 0,
        with_filename=True,
        context_given=mode == "content" and any(k in ti for k in ("-A", "-B", "-C", "context")),
    )
    try:
        matcher = g.compile_matcher(opts)
    except g.PatternError as exc:
        raise AnswerDenied(f"Bad pattern: {exc}") from None
    from ..records import replace
    from .tree import LINE_LIMIT

    literals = g.narrowing_literals(opts)
    prefixes = ("/",) if vpath == "/" else (vpath, vpath + "/")
    query = MemoryQuery(
        prefixes=prefixes,
        content=True,
        literals=literals,
        case_sensitive=not opts.ignore_case,
        context=(opts.before, opts.after),
        rank=literals is not None and opts.files_with_matches,
        index=vpath == "/",
        limit=LINE_LIMIT,
        matcher=matcher if literals is None else None,
    )
    tree = _fetch(query, log)
    if tree.kind(vpath) == "file":  # one file searched: no file-name prefix (as grep and rg print it)
        opts = replace(opts, with_filename=False)
    files = tree.files_under(vpath)
    glob = ti.get("glob")
    if isinstance(glob, str) and glob:
        files = [f for f in files if _glob_match(glob, f, vpath)]
    result = g.grep(opts, [(mpaths.real(f, root), tree.lines(f)) for f in files])
    lines = result.lines
    if opts.count:  # like the Grep tool (ripgrep --count): only files with a match are listed
        lines = [x for x in lines if x.rsplit(":", 1)[-1] != "0"]
    if opts.files_with_matches and tree.scores:
        order = {mpaths.real(f, root): -tree.scores.get(f, 0.0) for f in files}
        lines = sorted(lines, key=lambda n: order.get(n, 0.0))  # stable: best first, then path
    offset = _int(ti.get("offset"))
    head = _int(ti.get("head_limit"), 0)
    lines = lines[offset:]
    total = len(lines)
    if head:
        lines = lines[:head]
    names = {mpaths.real(f, root) for f in files} if opts.with_filename else set()
    lines = [_cut(line, pattern, opts.ignore_case, names, opts.line_number) for line in lines]
    shown = cap(lines, total=total if not head else len(lines))
    if tree.line_records >= LINE_LIMIT:
        shown.append(limited_line(LINE_LIMIT))
    # Claude Code shows an empty answer as "No matches found"; head_limit 0 turns off its own
    # 250-line pagination (we cap ourselves). updatedInput replaces the input: every key is set.
    path = answer_file("\n".join(shown) + "\n" if lines else "")
    return _allow({"pattern": "^", "path": path, "output_mode": "content", "-n": False, "head_limit": 0})


def _split_prefix(line: str, names: AbstractSet[str], numbered: bool) -> tuple[str, str]:
    """``(prefix, text)`` of a grep output line: the prefix is ``name:``/``name-`` when the line
    starts with one of ``names`` (file names are shown), then ``N:``/``N-`` when ``numbered``
    (line numbers are shown); ``""`` when there is none. ``prefix + text == line``."""
    at = 0
    if names:
        for i, ch in enumerate(line[:8192]):
            if ch in ":-" and line[:i] in names:
                at = i + 1
                break
        else:
            return "", line
    if numbered:
        j = at
        while j < len(line) and line[j].isdigit():
            j += 1
        if j > at and j < len(line) and line[j] in ":-":
            at = j + 1
    return line[:at], line[at:]


def _cut(
    line: str, pattern: str, ignore_case: bool, names: AbstractSet[str] = frozenset(), numbered: bool = False
) -> str:
    """``line`` as shown (``escape``d), cut to at most ``MAX_LINE_BYTES`` UTF-8 bytes around its
    first match in the stored text. The prefix (``name:N:``, ``N:`` or ``name:``: ``names`` are
    the file names shown, empty when none is; ``numbered`` when line numbers are) is kept whole
    before the cut text; the cut is marked with ``…`` and the full length of the text after the
    prefix (characters of the stored line) said at the end. The budget is measured after
    escaping, which may lengthen a line."""
    shown = escape(line)
    if len(shown.encode("utf-8", "surrogatepass")) <= MAX_LINE_BYTES:
        return shown
    prefix, line = _split_prefix(line, names, numbered)
    prefix = escape(prefix)
    import re

    try:
        m = re.search(pattern, line, re.IGNORECASE if ignore_case else 0)
    except re.error:
        m = None
    at = m.start() if m else 0
    tail = f" [line cut: {len(line)} chars]"
    budget = MAX_LINE_BYTES - len(prefix.encode("utf-8", "surrogatepass"))
    width = budget - len(tail) - 8
    while True:
        start = max(0, min(at - width // 3, len(line) - width))
        piece = (
            ("…" if start else "")
            + escape(line[start : start + width])
            + ("…" if start + width < len(line) else "")
            + tail
        )
        if len(piece.encode("utf-8", "surrogatepass")) <= budget or width < 12:
            return prefix + piece
        width = width * 3 // 4


# Glob -------------------------------------------------------------------------------------
def _glob_match(pattern: str, vfile: str, base: str) -> bool:
    """Glob ``pattern`` (``*`` within a segment, ``**`` across segments) against ``vfile``
    relative to ``base``; a pattern without ``/`` matches the file name."""
    import fnmatch
    import re

    rel = vfile[len(base.rstrip("/")) + 1 :] if base != "/" else vfile[1:]
    if "/" not in pattern:
        return fnmatch.fnmatchcase(rel.rsplit("/", 1)[-1], pattern)
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.fullmatch(out, rel) is not None


def _glob(ti: dict[str, Any], vpath: str, root: str, log: logging.Logger) -> dict[str, Any]:
    from ..store.memory_types import MemoryQuery

    pattern = ti.get("pattern")
    if not isinstance(pattern, str) or not pattern:
        raise AnswerDenied("Glob needs a pattern.")
    if pattern.startswith("/") or ".." in pattern.split("/"):
        raise AnswerDenied(f"Glob patterns on the memory path are relative to {root} and may not use '..'.")
    tree = _fetch(MemoryQuery(prefixes=("/" if vpath == "/" else vpath + "/",), listing=True, index=vpath == "/"), log)
    found = [mpaths.real(f, root) for f in tree.files_under(vpath) if _glob_match(pattern, f, vpath)]
    shown = cap(found) if found else ["No files found"]
    return _deny_as_answer("\n".join(shown))


#: First line of a Glob answer (``_deny_as_answer``); ``outcome`` tells an answer by it.
GLOB_ANSWER = "Team memory (virtual files, read them with Read):\n"


def _deny_as_answer(text: str) -> dict[str, Any]:
    """Glob cannot be redirected to virtual files: the list goes back as the deny reason."""
    return {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": GLOB_ANSWER + escape(text),
        }
    }


# Bash -------------------------------------------------------------------------------------
def _bash(
    ti: dict[str, Any], root: str, cwd: str | None, payload: dict[str, Any], log: logging.Logger
) -> dict[str, Any] | None:
    command = ti.get("command")
    if not isinstance(command, str):
        return None
    from .bash.scan import touches_memory

    home = os.path.expanduser("~")
    guards = mpaths.guarded()
    from .reach import reason

    why = reason(command, home=home, cwd=cwd, guards=guards, root=root)
    if why:
        log.warning("memory: refused a Bash command that may reach lakeloop's credentials (%d chars)", len(command))
        raise AnswerDenied(why)
    if not touches_memory(command, root, home, cwd=cwd, guards=guards) and not (
        cwd and mpaths.virtual(cwd, None, root)
    ):
        return None
    from .bash.parser import parse
    from .bash.syntax import CommandRefused

    try:
        script = parse(command, root=root, home=home, cwd=cwd or home, guards=guards)
    except CommandRefused as exc:
        log.warning("memory: refused Bash command (%d chars): %s", len(command), exc.reason[:200])
        raise AnswerDenied(exc.reason) from None
    if script is None:
        return None
    from .bash import runner

    query = runner.plan(script)
    tree = _fetch(query, log)
    result = runner.run(script, tree, root=root, max_bytes=MAX_BYTES)
    if result.note is not None:
        _save_note(result.note, payload, log)
    text = result.stdout
    if query.limit and tree.line_records >= query.limit:  # no limit (None or 0): never cut
        text += limited_line(query.limit) + "\n"
    command_out = f"cat -- {_quote(answer_file(text))}" if text else "true"
    if result.status:
        command_out += f"; exit {int(result.status)}"
    updated = dict(ti)
    updated["command"] = command_out
    updated.setdefault("description", "Read team memory (lakeloop)")
    return _allow(updated)


def _save_note(note: tuple[str, str], payload: dict[str, Any], log: logging.Logger) -> None:
    from ..errors import LakeloopError
    from ..store import current_identity, open_store
    from . import notes

    vpath, text = note
    cwd = payload.get("cwd") if isinstance(payload.get("cwd"), str) else ""
    project = cwd.rstrip("/").rsplit("/", 1)[-1] if cwd else ""
    try:
        with open_store(light=True) as store:
            row_id = notes.save(store, vpath, text, current_identity().user, project)
    except notes.NoteRefused as exc:
        raise AnswerDenied(f"Note not saved: {exc}.") from None
    except _Late:
        log.warning("memory note %s: no answer within the deadline; it may or may not be stored", vpath[:200])
        raise AnswerDenied(
            f"The note may or may not have been saved (team memory did not answer within "
            f"{DEADLINE_S:.0f} s); read it back with cat before writing it again."
        ) from None
    except (LakeloopError, OSError) as exc:
        log.warning("memory note not saved: %s: %s", type(exc).__name__, str(exc)[:200])
        raise AnswerDenied(f"Note not saved: team memory is unavailable ({type(exc).__name__}).") from None
    log.info("memory note saved path=%s bytes=%d id=%s", vpath[:200], len(text), row_id)


def _quote(path: str) -> str:
    return "'" + path.replace("'", "'\"'\"'") + "'"


def dumps(out: dict[str, Any]) -> str:
    """The hook's stdout line for ``out``."""
    return json.dumps(out, ensure_ascii=False)
