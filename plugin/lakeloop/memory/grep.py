"""GNU grep 3.8 semantics (``LC_ALL=C.UTF-8``) in pure Python, for the memory path.

Flags: ``-G`` (BRE, default), ``-E`` (ERE), ``-F``, ``-i``, ``-w``, ``-v``, ``-n``, ``-c``,
``-l``, ``-A/-B/-C``, several patterns (``-e p1 -e p2``, or a pattern holding newlines) and
file-name prefixes. Patterns are parsed the way GNU grep parses them (its DFA lexer for the
structure, glibc's regcomp for the errors, with GNU's messages) and translated to a Python
``re`` pattern; no pattern text ever reaches ``re`` unescaped, so no captured byte becomes
a regex flag or construct. The pattern front end (parsing, GNU's error messages, case
folding, bracket expressions, translation to ``re``) is ``lakeloop.memory.grep_pattern``;
this module holds the API, the matcher choice, the output and the narrowing literals.

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
from ..records import dataclass, field, replace
TYPE_CHECKING = False  # typing is not imported at run time (hook start-up time)
if TYPE_CHECKING:
    from typing import Callable, Iterable, Sequence

from .grep_pattern import (  # noqa: F401  (RE_DUP_MAX, PatternError: re-exported API)
    EMPTY,
    ESIZE,
    RE_DUP_MAX,
    WORD_CHAR,
    Parser,
    PatternError,
    alternation,
    as_fixed,
    backref_text,
    concat,
    fold_case,
    nonempty,
    nullable,
    small,
    split_patterns,
    superset_pattern,
    to_regex,
    uses_kwset,
)


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


# ---------------------------------------------------------------------------
# compilation


@dataclass
class _Parsed:
    asts: list[tuple[tuple, bool, bool]]  # (ast, backslash-digit in text, real backref)
    superset: tuple | None = None


def _parse_all(opts: GrepOptions) -> _Parsed:
    """Every pattern parsed as GNU decides it; raises PatternError."""
    if opts.mode not in ("G", "E", "F"):
        raise ValueError("mode must be G, E or F")
    pats = split_patterns(opts.patterns)
    fixed = pats if opts.mode == "F" else as_fixed(pats, opts.mode, opts.ignore_case)
    if fixed is not None:
        return _Parsed([(concat([("c", ch) for ch in p]), False, False) for p in fixed])
    ere, icase = opts.mode == "E", opts.ignore_case
    sup = None
    try:
        # glibc compiles every pattern first (its errors win), then the DFA parses them
        gparsers = [Parser(p, ere, icase, glibc=True) for p in pats]
        gasts = [parser.parse() for parser in gparsers]
        parsers = [Parser(p, ere, icase) for p in pats]
        asts = [parser.parse() for parser in parsers]
        if opts.word or any(parser.regex_only for parser in parsers):
            # glibc's regex decides, after GNU's superset DFA let the line through
            if gasts != asts or (opts.word and any(q.stray_rparen for q in parsers)):
                sup = superset_pattern(pats, ere, icase, opts.word)
            parsers, asts = gparsers, gasts
    except RecursionError:
        raise PatternError("grep: " + ESIZE) from None
    return _Parsed([(a, backref_text(p), q.has_ref) for a, p, q in zip(asts, pats, parsers)],
                   sup)


def _compile(opts: GrepOptions) -> tuple[list[re.Pattern], re.Pattern | None]:
    """The Python regexes whose any-search decides whether a line matches, and a
    regex every selected line must match too (GNU's superset DFA) or None.

    Like GNU: the patterns without a backslash-digit are one regex, each other pattern
    is its own (back-references are local to a pattern)."""
    parsed = _parse_all(opts)
    asts = parsed.asts
    icase = opts.ignore_case
    groups = []
    plain = [a for a, text, _ in asts if not text]
    if plain:
        groups.append((alternation(plain) if len(plain) > 1 else plain[0], False))
    groups.extend((a, ref) for a, text, ref in asts if text)
    kwset = opts.word and uses_kwset(split_patterns(opts.patterns), opts.mode, icase)
    out = []
    try:
        for ast, ref in groups:
            body = to_regex(ast, icase, ref)
            if opts.word:
                ne = None
                if not (ref or kwset or not nullable(ast)):
                    ne_ast = nonempty(ast)
                    ne = to_regex(ne_ast, icase, False) if small(ne_ast, 20000) else None
                if ne is None:
                    body = "(?<!%s)(?:%s)(?!%s)" % (WORD_CHAR, body, WORD_CHAR)
                else:
                    # EGexecute: an empty match counts only where no longer match starts
                    body = ("(?<!%s)(?:(?:%s)(?!%s)|(?!%s)(?=%s)(?!%s))"
                            % (WORD_CHAR, ne, WORD_CHAR, WORD_CHAR, body, ne))
            out.append(re.compile(body))
        sup = None if parsed.superset is None else re.compile(
            to_regex(parsed.superset, icase, False))
    except (re.error, RecursionError, OverflowError) as exc:  # pragma: no cover - limits
        raise PatternError("grep: " + ESIZE) from exc
    return out, sup


def _invert_matches_nothing(opts: GrepOptions) -> bool:
    """GNU exits 1 at once, printing nothing, for ``grep -v ''`` (no -w)."""
    return opts.invert and not opts.word and split_patterns(opts.patterns) == [""]


def _fixed_strings(opts: GrepOptions) -> list[str] | None:
    """The patterns as plain substrings when a substring test is exactly GNU's match
    (no -w; with -i only ASCII letters whose sole counterpart is the other case)."""
    if opts.word:
        return None
    parsed = _parse_all(opts)
    if parsed.superset is not None:
        return None
    out = []
    for ast, _, _ in parsed.asts:
        items = ast[1] if ast[0] == "cat" else () if ast is EMPTY else (ast,)
        if any(x[0] != "c" for x in items):
            return None
        text = "".join(x[1] for x in items)
        if opts.ignore_case and not all(c.isascii() and c not in "iIsS" for c in text):
            return None
        out.append(text)
    return out


def compile_matcher(opts: GrepOptions) -> Callable[[str], bool]:
    """A predicate: True when GNU grep would select ``line`` (honours ``invert``).

    ``line`` is one line without its ``\\n``. Raises ``PatternError`` (message as GNU
    prints it) for a bad pattern, ``ValueError`` for a bad ``mode``.
    """
    fixed = _fixed_strings(opts)
    if fixed is not None:  # plain substrings: no regex needed
        if opts.ignore_case:
            low = tuple(x.translate(_ASCII_LOWER) for x in fixed)

            def matches(line: str) -> bool:
                text = line.lower() if line.isascii() else line.translate(_ASCII_LOWER)
                return any(x in text for x in low)
        elif len(fixed) == 1:
            only = fixed[0]
            matches = lambda line: only in line
        else:
            matches = lambda line: any(x in line for x in fixed)
        return (lambda line: not matches(line)) if opts.invert else matches
    regexes, sup = _compile(opts)
    searches = [r.search for r in regexes]
    if len(searches) == 1 and sup is None:
        s0 = searches[0]
        matches: Callable[[str], bool] = lambda line: s0(line) is not None
    elif sup is None:
        matches = lambda line: any(s(line) for s in searches)
    else:
        ss = sup.search
        matches = lambda line: ss(line) is not None and any(s(line) for s in searches)
    lits = narrowing_literals(replace(opts, invert=False))
    if lits:  # a substring test first: cheap, and the regex may not search fast
        full = matches
        if opts.ignore_case:
            low = tuple(x.translate(_ASCII_LOWER) for x in lits)

            def matches(line: str) -> bool:
                text = line.lower() if line.isascii() else line.translate(_ASCII_LOWER)
                return any(x in text for x in low) and full(line)
        else:
            matches = lambda line: any(x in line for x in lits) and full(line)
    if opts.invert:
        return lambda line: not matches(line)
    return matches


# ---------------------------------------------------------------------------
# output


_ASCII_LOWER = {c: c + 32 for c in range(65, 91)}
_BINARY = re.compile("[\x00\ud800-\udfff]")  # NUL, or a byte decoded with surrogateescape


def grep(opts: GrepOptions, files: Iterable[tuple[str, Sequence[tuple[int, str]]]],
         max_lines: int | None = None) -> GrepResult:
    """Run grep over ``files`` and return what GNU grep prints.

    ``files``: ``(display name, [(line number, text without "\\n"), ...])`` with increasing
    line numbers; lines may be sparse (absent lines are known not to match; context shows
    only present lines adjacent by number). ``max_lines``: keep at most that many output
    lines (``total_lines`` still counts all). A bad pattern gives status 2 and ``error``
    (no exception).
    """
    try:
        selected = compile_matcher(opts)
    except PatternError as exc:
        return GrepResult([], [], 2, 0, str(exc))
    out: list[str] = []
    total = 0

    def emit(text: str) -> None:
        nonlocal total
        total += 1
        if max_lines is None or len(out) < max_lines:
            out.append(text)

    if _invert_matches_nothing(opts):
        return GrepResult([], [], 1, 0)
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
            emit("%s:%d" % (name, len(sel)) if opts.with_filename else str(len(sel)))
            continue
        if quiet or not sel:
            continue
        if _BINARY.search("\n".join(text for _, text in lines)):
            messages.append("grep: %s: binary file matches" % name)
            continue
        pre = name if opts.with_filename else ""
        nums = [n for n, _ in lines]
        if not ctx:
            for j, i in enumerate(sel):
                if max_lines is not None and len(out) >= max_lines:
                    total += len(sel) - j
                    break
                emit((pre + ":" if opts.with_filename else "")
                     + (str(nums[i]) + ":" if opts.line_number else "") + lines[i][1])
            used = True
            continue
        # contiguous runs of present line numbers bound the context
        run_start = [0] * len(nums)
        run_end = [0] * len(nums)
        for k in range(len(nums)):
            run_start[k] = run_start[k - 1] if k and nums[k] == nums[k - 1] + 1 else k
        for k in range(len(nums) - 1, -1, -1):
            run_end[k] = (run_end[k + 1] if k + 1 < len(nums) and nums[k + 1] == nums[k] + 1
                          else k)
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


def _ci_variants(run: str) -> list[str] | None:
    """Under -i: spellings of the best >= 3-char window of ``run`` (ASCII) covering GNU's
    non-ASCII case counterparts (i/ı, s/ſ), at most 4; None when no window fits."""
    special = [any(ord(x) > 127 for x in fold_case(ch)) for ch in run]
    best = None
    for a in range(len(run)):
        k = 0
        for b in range(a, len(run)):
            k += special[b]
            if k > 2:
                break
            if b - a + 1 >= 3:
                key = (b - a + 1, -k)
                if best is None or key > best[0]:
                    best = (key, a, b + 1)
    if best is None:
        return None
    win = run[best[1]:best[2]]
    out = [""]
    for ch in win:
        alts = [ch] + [x for x in fold_case(ch) if ord(x) > 127]
        out = [p + x for p in out for x in alts]
    return out


def _lits_for_run(run: str, icase: bool) -> list[str] | None:
    if len(run) < 3:
        return None
    if not icase:
        return [run]
    return _ci_variants(run)


def _better(a: list[str] | None, b: list[str] | None) -> list[str] | None:
    if a is None:
        return b
    if b is None:
        return a
    ka = (min(map(len, a)), -len(a))
    kb = (min(map(len, b)), -len(b))
    return b if kb > ka else a


def _required(node: tuple, icase: bool) -> list[str] | None:
    """Strings one of which every match of ``node`` contains, or None."""
    k = node[0]
    if k == "grp":
        return _required(node[1], icase)
    if k == "rep":
        return _required(node[1], icase) if node[2] >= 1 else None
    if k == "alt":
        out: list[str] = []
        for x in node[1]:
            r = _required(x, icase)
            if r is None:
                return None
            out.extend(r)
        return list(dict.fromkeys(out)) if len(out) <= 32 else None
    if k == "c":
        return _lits_for_run(node[1], icase) if not icase or ord(node[1]) < 128 else None
    if k != "cat":
        return None
    best = None
    run = ""
    for x in list(node[1]) + [EMPTY]:
        if x[0] == "c" and (not icase or ord(x[1]) < 128):
            run += x[1]
            continue
        best = _better(best, _lits_for_run(run, icase))
        run = ""
        if x[0] in ("grp", "rep", "alt"):
            best = _better(best, _required(x, icase))
    return best


def narrowing_literals(opts: GrepOptions) -> tuple[str, ...] | None:
    """Strings (each >= 3 characters) one of which, compared ASCII-case-insensitively, is
    in every line GNU grep selects for ``opts``; None when no such set is known (``-v``,
    a bad pattern, or patterns like ``.*``). With ``-i`` the strings may spell ``i``/``s``
    as ``ı``/``ſ`` (GNU folds those together); other non-ASCII letters end a literal."""
    if opts.invert:
        return None
    try:
        asts = _parse_all(opts).asts
    except (PatternError, ValueError):
        return None
    out: list[str] = []
    for ast, _, _ in asts:
        r = _required(ast, opts.ignore_case)
        if r is None:
            return None
        out.extend(r)
    out = list(dict.fromkeys(out))
    if not out or len(out) > 64 or any(len(x) < 3 for x in out):
        return None
    return tuple(out)
