"""GNU grep 3.8 semantics (``LC_ALL=C.UTF-8``) in pure Python, for the memory path.

Flags: ``-G`` (BRE, default), ``-E`` (ERE), ``-F``, ``-i``, ``-w``, ``-v``, ``-n``, ``-c``,
``-l``, ``-A/-B/-C``, several patterns (``-e p1 -e p2``, or a pattern holding newlines) and
file-name prefixes. Patterns are parsed the way GNU grep parses them (its DFA lexer for the
structure, glibc's regcomp for the errors, with GNU's messages) and translated to a Python
``re`` pattern; no pattern text ever reaches ``re`` unescaped, so no captured byte becomes
a regex flag or construct. The pattern front end (parsing, GNU's error messages, case
folding, bracket expressions, translation to ``re``, narrowing literals) is
``lakeloop.memory.grep_pattern``, used through its one entry ``compile_pattern``; this module
holds the API, the matcher choice and the output.

GNU's own quirks are reproduced where they change results: the DFA and glibc reading an
operator after an anchor differently (``^*a``, ``\\<*a``, ERE ``{1}a``), the superset
DFA filtering what glibc then decides (also the ``-w`` wrapper an ERE's stray ``)``
breaks), ``-w`` taking an empty match only where no longer match starts, two or more
plain patterns switching to the ``-F`` matcher (no pattern error then), ``grep -v ''``
printing nothing even with ``-c``, ``-A 0`` still printing ``--``.

Known differences: character classes (``[[:alpha:]]``, ``\\w``, word boundaries) are
exact in ASCII and Latin-1 and follow Python's Unicode tables beyond (they differ from
glibc's for some combining marks and numeric symbols; ``[[:print:]]``, ``[[:graph:]]``
and ``[[:punct:]]`` also take unassigned and private-use code points); ``-i`` with a
back-reference folds case the Python way; glibc fails to match a repeated group that
holds an anchor (``(\\<c)+`` against ``cc``) where this matches; ``-F -w ''`` does not
match inside a multibyte non-word character the way GNU's byte matcher does.
"""

from __future__ import annotations

import re

from ..records import dataclass, field
from .grep_pattern import CompiledPattern, PatternError, compile_pattern

TYPE_CHECKING = False  # typing is not imported at run time (hook start-up time)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

#: ``PatternError`` (``grep_pattern``) is part of this module's API: callers catch it from here.
__all__ = ["GrepOptions", "GrepResult", "PatternError", "compile_matcher", "grep", "narrowing_literals"]


@dataclass(frozen=True)
class GrepOptions:
    """One grep invocation's pattern and output flags.

    ``patterns``: the ``-e`` patterns (a pattern holding newlines is several patterns).
    ``mode``: ``"G"`` BRE, ``"E"`` ERE, ``"F"`` fixed strings. ``before``/``after``: context
    lines (``-B``/``-A``; ``-C N`` sets both). ``context_given``: True when any of
    ``-A/-B/-C`` was given, even as 0 (GNU then prints ``--`` between non-adjacent groups
    even with ``-A 0``); context lines > 0 imply it. ``with_filename``: prefix output lines
    with the file name (GNU: with ``-r`` or several file operands; the caller decides).
    ``files_with_matches`` (``-l``) wins over ``count`` (``-c``).
    """

    patterns: tuple[str, ...]
    mode: str = "G"
    ignore_case: bool = False
    word: bool = False
    invert: bool = False
    line_number: bool = False
    count: bool = False
    files_with_matches: bool = False
    before: int = 0
    after: int = 0
    with_filename: bool = False
    context_given: bool = False


@dataclass
class GrepResult:
    """What GNU grep would print and return.

    ``lines``: stdout lines without ``\\n`` (at most ``max_lines`` of them);
    ``total_lines``: how many there are in full; ``matched_files``: display names of the
    files with at least one selected line, in input order; ``status``: 0 when a line was
    selected, 1 when none, 2 on a bad pattern (then ``error`` is GNU's stderr message,
    ``grep: ...``, and nothing else is set). ``messages``: other stderr lines GNU prints
    (``grep: NAME: binary file matches`` for a file holding a NUL or an undecodable byte,
    whose lines GNU does not print).
    """

    lines: list[str]
    matched_files: list[str]
    status: int
    total_lines: int
    error: str = ""
    messages: list[str] = field(default_factory=list)


def _compiled(opts: GrepOptions) -> CompiledPattern:
    """``opts``' patterns as GNU decides them; raises ``PatternError``, ``ValueError`` (bad mode)."""
    return compile_pattern(opts.patterns, opts.mode, opts.ignore_case, opts.word)


def compile_matcher(opts: GrepOptions) -> Callable[[str], bool]:
    """A predicate: True when GNU grep would select ``line`` (honours ``invert``).

    ``line`` is one line without its ``\\n``. Raises ``PatternError`` (message as GNU
    prints it) for a bad pattern, ``ValueError`` for a bad ``mode``.
    """
    return _matcher(_compiled(opts), opts.invert)


def _matcher(pattern: CompiledPattern, invert: bool) -> Callable[[str], bool]:
    """The line predicate of a compiled pattern: a substring test when that is exactly GNU's
    match, else the regexes, behind a substring test of the narrowing literals when there are
    some (cheap, and the regex may not search fast)."""
    fixed = pattern.fixed_strings()
    if fixed is not None:  # plain substrings: no regex needed
        if pattern.ignore_case:
            low = tuple(x.translate(_ASCII_LOWER) for x in fixed)

            def matches(line: str) -> bool:
                text = line.lower() if line.isascii() else line.translate(_ASCII_LOWER)
                return any(x in text for x in low)
        elif len(fixed) == 1:
            only = fixed[0]

            def matches(line: str) -> bool:
                return only in line
        else:

            def matches(line: str) -> bool:
                return any(x in line for x in fixed)

        return (lambda line: not matches(line)) if invert else matches
    regexes, sup = pattern.regexes()
    searches = [r.search for r in regexes]
    if len(searches) == 1 and sup is None:
        s0 = searches[0]

        def full(line: str) -> bool:
            return s0(line) is not None
    elif sup is None:

        def full(line: str) -> bool:
            return any(s(line) for s in searches)
    else:
        ss = sup.search

        def full(line: str) -> bool:
            return ss(line) is not None and any(s(line) for s in searches)

    selected = full
    lits = pattern.literals()
    if lits:  # a substring test first: cheap, and the regex may not search fast
        if pattern.ignore_case:
            folded = tuple(x.translate(_ASCII_LOWER) for x in lits)

            def narrowed(line: str) -> bool:
                text = line.lower() if line.isascii() else line.translate(_ASCII_LOWER)
                return any(x in text for x in folded) and full(line)
        else:

            def narrowed(line: str) -> bool:
                return any(x in line for x in lits) and full(line)

        selected = narrowed
    if invert:
        return lambda line: not selected(line)
    return selected


# ---------------------------------------------------------------------------
# output


_ASCII_LOWER = {c: c + 32 for c in range(65, 91)}
_BINARY = re.compile("[\x00\ud800-\udfff]")  # NUL, or a byte decoded with surrogateescape


def grep(
    opts: GrepOptions, files: Iterable[tuple[str, Sequence[tuple[int, str]]]], max_lines: int | None = None
) -> GrepResult:
    """Run grep over ``files`` and return what GNU grep prints.

    ``files``: ``(display name, [(line number, text without "\\n"), ...])`` with increasing
    line numbers; lines may be sparse (absent lines are known not to match; context shows
    only present lines adjacent by number). ``max_lines``: keep at most that many output
    lines (``total_lines`` still counts all). A bad pattern gives status 2 and ``error``
    (no exception).
    """
    try:
        pattern = _compiled(opts)
        selected = _matcher(pattern, opts.invert)
    except PatternError as exc:
        return GrepResult([], [], 2, 0, str(exc))
    out: list[str] = []
    total = 0

    def emit(text: str) -> None:
        nonlocal total
        total += 1
        if max_lines is None or len(out) < max_lines:
            out.append(text)

    if opts.invert and not opts.word and pattern.patterns == ("",):
        return GrepResult([], [], 1, 0)  # GNU exits 1 at once, printing nothing, for `grep -v ''`
    matched: list[str] = []
    messages: list[str] = []
    before, after = max(opts.before, 0), max(opts.after, 0)
    ctx = opts.context_given or before > 0 or after > 0
    quiet = opts.count or opts.files_with_matches
    used = False
    for name, lines in files:
        sel = [i for i, (_, text) in enumerate(lines) if selected(text)]
        if sel:
            matched.append(name)
        if opts.files_with_matches:
            if sel:
                emit(name)
            continue
        if opts.count:
            emit(f"{name}:{len(sel)}" if opts.with_filename else str(len(sel)))
            continue
        if quiet or not sel:
            continue
        if _BINARY.search("\n".join(text for _, text in lines)):
            messages.append(f"grep: {name}: binary file matches")
            continue
        pre = name if opts.with_filename else ""
        nums = [n for n, _ in lines]
        if not ctx:
            for j, i in enumerate(sel):
                if max_lines is not None and len(out) >= max_lines:
                    total += len(sel) - j
                    break
                emit(
                    (pre + ":" if opts.with_filename else "")
                    + (str(nums[i]) + ":" if opts.line_number else "")
                    + lines[i][1]
                )
            used = True
            continue
        # contiguous runs of present line numbers bound the context
        run_start = [0] * len(nums)
        run_end = [0] * len(nums)
        for k in range(len(nums)):
            run_start[k] = run_start[k - 1] if k and nums[k] == nums[k - 1] + 1 else k
        for k in range(len(nums) - 1, -1, -1):
            run_end[k] = run_end[k + 1] if k + 1 < len(nums) and nums[k + 1] == nums[k] + 1 else k
        selset = set(sel)
        last = -1  # index of the last printed line in this file
        for i in sel:
            lo = max(i - before, run_start[i], last + 1)
            hi = min(i + after, run_end[i])
            if lo > hi:
                continue
            if used and not (last >= 0 and lo == last + 1 and nums[lo] == nums[last] + 1):
                emit("--")
            if max_lines is not None and len(out) >= max_lines:
                total += hi - lo + 1
            else:
                for k in range(lo, hi + 1):
                    sep = ":" if k in selset else "-"
                    num = str(nums[k]) + sep if opts.line_number else ""
                    emit((pre + sep if opts.with_filename else "") + num + lines[k][1])
            last = hi
            used = True
    return GrepResult(out, matched, 0 if matched else 1, total, "", messages)


# ---------------------------------------------------------------------------
# narrowing literals


def narrowing_literals(opts: GrepOptions) -> tuple[str, ...] | None:
    """Strings (each >= 3 characters) one of which, compared ASCII-case-insensitively, is
    in every line GNU grep selects for ``opts``; None when no such set is known (``-v``,
    a bad pattern, or patterns like ``.*``). With ``-i`` the strings may spell ``i``/``s``
    as ``ı``/``ſ`` (GNU folds those together); other non-ASCII letters end a literal."""
    if opts.invert:
        return None
    try:
        return _compiled(opts).literals()
    except (PatternError, ValueError):
        return None
