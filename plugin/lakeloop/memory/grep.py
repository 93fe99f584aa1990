"""GNU grep 3.8 semantics (``LC_ALL=C.UTF-8``) in pure Python, for the memory path.

Flags: ``-G`` (BRE, default), ``-E`` (ERE), ``-F``, ``-i``, ``-w``, ``-v``, ``-n``, ``-c``,
``-l``, ``-A/-B/-C``, several patterns (``-e p1 -e p2``, or a pattern holding newlines) and
file-name prefixes. Patterns are parsed the way GNU grep parses them (its DFA lexer for the
structure, glibc's regcomp for the errors, with GNU's messages) and translated to a Python
``re`` pattern; no pattern text ever reaches ``re`` unescaped, so no captured byte becomes
a regex flag or construct.

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

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

RE_DUP_MAX = 0x7FFF

# glibc regerror texts (grep prints them as "grep: <text>")
_EBRACK = "Unmatched [, [^, [:, [., or [="
_EPAREN = "Unmatched ( or \\("
_ERPAREN = "Unmatched ) or \\)"
_EBRACE = "Unmatched \\{"
_BADBR = "Invalid content of \\{\\}"
_ERANGE = "Invalid range end"
_ECTYPE = "Invalid character class name"
_ECOLLATE = "Invalid collation character"
_EESCAPE = "Trailing backslash"
_ESUBREG = "Invalid back reference"
_ESIZE = "Regular expression too big"
_COLON = "character class syntax is [[:space:]], not [:space:]"


class PatternError(ValueError):
    """Bad pattern; ``str()`` is GNU grep's message, e.g. ``grep: Unmatched ( or \\(``."""


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
# character classes (glibc C.UTF-8, exact in ASCII and Latin-1)

_NOTW = "\\xb2\\xb3\\xb9\\xbc-\\xbe"  # Latin-1 numerics Python calls \w and glibc does not
_WORD = "[^\\W" + _NOTW + "]"
_NWORD = "[\\W" + _NOTW + "]"
_SPACES = " \\t\\n\\v\\f\\r\\u1680\\u2000-\\u2006\\u2008-\\u200a\\u2028\\u2029\\u205f\\u3000"
_NOGRAPH = ("\\x00-\\x20\\x7f-\\x9f\\u1680\\u2000-\\u2006\\u2008-\\u200a\\u2028\\u2029"
            "\\u205f\\u3000")
_CLASSES = {
    "alpha": "[^\\W0-9_" + _NOTW + "]",
    "alnum": "[^\\W_" + _NOTW + "]",
    "digit": "[0-9]",
    "xdigit": "[0-9A-Fa-f]",
    "space": "[" + _SPACES + "]",
    "blank": "[ \\t\\u1680\\u2000-\\u2006\\u2008-\\u200a\\u205f\\u3000]",
    "cntrl": "[\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029]",
    "print": "[^\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029]",
    "graph": "[^" + _NOGRAPH + "]",
    "punct": "(?:(?![^\\W_" + _NOTW + "])[^" + _NOGRAPH + "])",
    "upper": None,  # built on first use (_case_class)
    "lower": None,
}
_SHORT = {"w": _WORD, "W": _NWORD, "s": "[" + _SPACES + "]", "S": "[^" + _SPACES + "]"}
_case_cache: dict[str, str] = {}


def _case_class(name: str) -> str:
    """``[[:upper:]]``/``[[:lower:]]`` as an explicit class (built once, ~20 ms)."""
    frag = _case_cache.get(name)
    if frag is None:
        extra = "\u01c5\u01c8\u01cb\u01f2"
        test = (lambda ch: ch.isupper() or ch.istitle()) if name == "upper" else (
            lambda ch: ch.islower() or ch in extra)
        runs: list[list[int]] = []
        for cp in range(0x20000):
            if test(chr(cp)):
                if runs and runs[-1][1] == cp - 1:
                    runs[-1][1] = cp
                else:
                    runs.append([cp, cp])
        # BMP and beyond apart: re keeps a BMP-only set as one fast bitmap
        parts = ["[" + "".join(_esc_in(chr(a)) if a == b else _esc_in(chr(a)) + "-" + _esc_in(chr(b))
                               for a, b in runs if (a > 0xFFFF) == astral) + "]"
                 for astral in (False, True)]
        frag = "(?:%s|[\\U00010000-\\U0010ffff](?<=%s))" % tuple(parts)
        _case_cache[name] = frag
    return frag


def _class_frag(name: str) -> str:
    frag = _CLASSES[name]
    return frag if frag is not None else _case_class(name)


def _esc_in(ch: str) -> str:
    """``ch`` escaped for use inside a Python character set."""
    return "\\" + ch if ch in "\\]^-[&~|" else ch


# ---------------------------------------------------------------------------
# case folding as GNU does it (dfa's case_folded_counterparts; glibc towupper)

_LONESOME = "\u00b5\u0131\u017f\u01c5\u01c8\u01cb\u01f2\u0345\u03c2\u03d0\u03d1\u03d5\u03d6" \
            "\u03f0\u03f1\u03f2\u03f5\u1e9b\u1fbe"


def _up(ch: str) -> str:
    u = ch.upper()
    return u if len(u) == 1 else ch


def _low(ch: str) -> str:
    lo = ch.lower()
    return lo if len(lo) == 1 else ch


def _fold(ch: str) -> str:
    """``ch`` and the characters GNU grep -i treats as the same letter (sorted)."""
    out = {ch}
    uc = _up(ch)
    lc = _low(uc)
    out.add(uc)
    if _up(lc) == uc:
        out.add(lc)
    for li in _LONESOME:
        if _up(li) == uc:
            out.add(li)
    return "".join(sorted(out))


def _lit(ch: str, icase: bool) -> str:
    if icase:
        f = _fold(ch)
        if len(f) > 1:
            return "[" + "".join(_esc_in(c) for c in f) + "]"
    return re.escape(ch)


# ---------------------------------------------------------------------------
# parser: pattern text -> AST
#
# AST nodes are tuples: ("c", ch) literal, ("any",), ("set", frag, dfa) one character
# (dfa: GNU's DFA handles it itself), ("sup",) any string (superset DFA's stand-in),
# ("anc", kind) with kind in ^ $ < > b B ` ', ("cat", items), ("alt", items),
# ("grp", node, n), ("rep", node, lo, hi|None), ("ref", n), ("emp",), ("fail",).

_END, _OR, _LP, _RP, _STAR, _PLUS, _QM, _REP = range(8)
_EMP = ("emp",)
_FAIL = ("fail",)


def _capped(digits: str) -> int:
    n = 0
    for d in digits:
        n = min(RE_DUP_MAX + 1, n * 10 + ord(d) - 48)
    return n


class _Parser:
    """One pattern. ``glibc``: parse the way glibc's regcomp does where it and GNU's DFA
    disagree (an operator right after an anchor); GNU's result is glibc's when the DFA
    cannot decide alone (``regex_only``: -w, back-references, word anchors, \\w \\s,
    brackets with classes, ranges, negation or non-ASCII), else the DFA's."""

    def __init__(self, pat: str, ere: bool, icase: bool, glibc: bool = False) -> None:
        self.s = pat
        self.i = 0
        self.ere = ere
        self.icase = icase
        self.glibc = glibc
        self.regex_only = False
        self.laststart = True
        self.lasttok = _END
        self.after_anchor = False
        self.ngroups = 0
        self.open: list[int] = []
        self.closed: set[int] = set()
        self.has_ref = False
        self.stray_rparen = False
        self.tok: tuple = (_END,)

    def parse(self) -> tuple:
        self.tok = self._lex()
        node = self._regexp()
        return node

    # -- grammar (dfa.c: regexp / branch / closure / atom)
    def _regexp(self) -> tuple:
        initial = set(self.closed)
        branches = [self._branch()]
        while self.tok[0] == _OR:
            # glibc: a back-reference cannot name a group of another alternative
            done, self.closed = self.closed, set(initial)
            self.tok = self._lex()
            branches.append(self._branch())
            self.closed |= done
        return branches[0] if len(branches) == 1 else ("alt", tuple(branches))

    def _branch(self) -> tuple:
        items = [self._closure()]
        while self.tok[0] not in (_RP, _OR, _END):
            items.append(self._closure())
        items = [x for x in items if x is not _EMP]
        if not items:
            return _EMP
        return items[0] if len(items) == 1 else ("cat", tuple(items))

    def _closure(self) -> tuple:
        node = self._atom()
        while self.tok[0] in (_STAR, _PLUS, _QM, _REP):
            t = self.tok
            lo, hi = {_STAR: (0, None), _PLUS: (1, None), _QM: (0, 1)}.get(t[0], t[1:3])
            if node is _EMP or (lo == 0 and hi == 0):
                node = _EMP
            else:
                node = ("rep", node, lo, hi)
            self.tok = self._lex()
        return node

    def _atom(self) -> tuple:
        t = self.tok
        if t[0] == "n":
            self.tok = self._lex()
            return t[1]
        if t[0] == _LP:
            n = t[1]
            self.tok = self._lex()
            inner = self._regexp()
            if self.tok[0] != _RP:
                raise PatternError("grep: " + _EPAREN)
            self.tok = self._lex()
            return ("grp", inner, n)
        return _EMP

    # -- lexer (dfa.c lex, with glibc's compile errors)
    def _lex(self) -> tuple:
        tok = self._lex1()
        self.lasttok = tok[0] if tok[0] != "n" else "n"
        self.after_anchor = tok[0] == "n" and tok[1][0] == "anc"
        return tok

    def _lex1(self) -> tuple:
        s, ere = self.s, self.ere
        if self.i >= len(s):
            return (_END,)
        c = s[self.i]
        self.i += 1
        bs = False
        if c == "\\":
            if self.i >= len(s):
                raise PatternError("grep: " + _EESCAPE)
            c = s[self.i]
            self.i += 1
            bs = True
        start = self.laststart or (self.glibc and self.after_anchor)
        if c == "\n" and not bs:  # only in the DFA's view of all patterns at once
            self.laststart = True
            return (_OR,)
        if c == "^" and not bs:
            if ere or self.lasttok in (_END, _LP, _OR):
                return ("n", ("anc", "^"))
            return self._char(c)
        if c == "$" and not bs:
            rest = s[self.i:]
            if ere or not rest or rest.startswith(("\\)", "\\|", "\n")):
                return ("n", ("anc", "$"))
            return self._char(c)
        if bs and c in "123456789":
            n = int(c)
            if n not in self.closed:
                raise PatternError("grep: " + _ESUBREG)
            self.laststart = False
            self.has_ref = self.regex_only = True
            return ("n", ("ref", n))
        if bs and c in "`'<>bB":
            self.regex_only |= c in "<>bB"
            return ("n", ("anc", c))
        if (c in "?+{" and bs != ere) or (c == "*" and not bs):
            if start and not ere:
                return self._char(c)
            if start and self.glibc:  # glibc drops an ERE operator with nothing before it
                if s.startswith(")", self.i):  # ... and then takes a ')' literally
                    self.i += 1
                    return self._char(")")
                return self._lex1()
            if c == "{":
                return self._interval()
            return (_QM if c == "?" else _PLUS if c == "+" else _STAR,)
        if c == "|" and bs != ere:
            self.laststart = True
            return (_OR,)
        if c == "(" and bs != ere:
            self.ngroups += 1
            self.open.append(self.ngroups)
            self.laststart = True
            return (_LP, self.ngroups)
        if c == ")" and bs != ere:
            if not self.open:
                if ere:
                    self.stray_rparen = True
                    return self._char(c)
                raise PatternError("grep: " + _ERPAREN)
            self.closed.add(self.open.pop())
            self.laststart = False
            return (_RP,)
        if c == "." and not bs:
            self.laststart = False
            return ("n", ("any",))
        if bs and c in "wWsS":
            self.laststart = False
            self.regex_only = True
            return ("n", ("set", _SHORT[c], False))
        if c == "[" and not bs:
            self.laststart = False
            before, self.regex_only = self.regex_only, False
            frag = self._bracket()
            known = not self.regex_only
            self.regex_only |= before
            return ("n", ("set", frag, known))
        return self._char(c)

    def _fail(self, msg: str) -> None:
        """An interval error: glibc's message, or the DFA's when glibc accepted it."""
        if not self.glibc:
            msg = {_ESIZE: "regular expression too big"}.get(msg, "invalid content of \\{\\}")
        raise PatternError("grep: " + msg)

    def _char(self, c: str) -> tuple:
        self.laststart = False
        return ("n", ("c", c))

    def _fetch_number(self) -> tuple[int, str]:
        """glibc fetch_number: (number, stop) with stop in CLOSE / , / END; -1 none, -2 bad."""
        s, n = self.s, -1
        while True:
            if self.i >= len(s):
                return -2, "END"
            ch = s[self.i]
            self.i += 1
            if ch == "\\":
                if self.i >= len(s):
                    kind = "other"
                else:
                    c2 = s[self.i]
                    self.i += 1
                    kind = "CLOSE" if (c2 == "}" and not self.ere) else ("," if c2 == "," else "other")
            elif ch == "}" and self.ere:
                kind = "CLOSE"
            elif ch == ",":
                kind = ","
            elif "0" <= ch <= "9":
                kind = "digit"
            else:
                kind = "other"
            if kind in ("CLOSE", ","):
                return n, kind
            if kind == "digit" and n != -2:
                n = int(ch) if n == -1 else min(RE_DUP_MAX + 1, n * 10 + int(ch))
            else:
                n = -2

    def _interval(self) -> tuple:
        start_i = self.i
        if self.laststart:
            # ERE at the start of an expression: glibc skips the '{'; dfa decides.
            m = re.match(r"([0-9]*)(?:(,)([0-9]*))?}", self.s[self.i:])
            if m and (m.group(1) or m.group(2)):
                lo = _capped(m.group(1) or "0")
                hi = lo if not m.group(2) else (_capped(m.group(3)) if m.group(3) else None)
                if hi is None or lo <= hi:
                    if max(lo, hi or 0) > RE_DUP_MAX:
                        raise PatternError("grep: regular expression too big")
                    self.i += m.end()
                    return (_REP, lo, hi)
            return self._char("{")
        lo, stop = self._fetch_number()
        hi = 0
        if lo == -1:
            if stop == ",":
                lo = 0
            else:
                self._fail(_BADBR)
        if lo != -2:
            if stop == "CLOSE":
                hi = lo
            else:
                hi, stop = self._fetch_number()
        if lo == -2 or hi == -2:
            if not self.ere:
                self._fail(_EBRACE if stop == "END" else _BADBR)
            self.i = start_i
            return self._char("{")
        if (hi != -1 and lo > hi) or stop != "CLOSE":
            self._fail(_BADBR)
        if (lo if hi == -1 else hi) > RE_DUP_MAX:
            self._fail(_ESIZE)
        self.laststart = False
        return (_REP, lo, None if hi == -1 else hi)

    def _bracket(self) -> str:
        """Parse a bracket expression after '['; return a one-character Python fragment."""
        s, icase = self.s, self.icase
        n = len(s)
        if self.i >= n:
            raise PatternError("grep: " + _EBRACK)
        neg = s[self.i] == "^"
        if neg:
            self.i += 1
            if self.i >= n:
                raise PatternError("grep: " + _EBRACK)
        chars: set[str] = set()
        ranges: list[tuple[str, str]] = []
        classes: list[str] = []
        colon = 1 if s[self.i] == ":" else 0  # dfa's [:space:] check
        first = True
        while True:
            colon &= ~2
            kind, val = self._belem(first)
            first = False
            if self.i >= n:
                raise PatternError("grep: " + _EBRACK)
            if kind != "char":
                colon |= 8
                if kind != "class" or val != "digit":
                    self.regex_only = True
            if kind in ("class", "equiv"):
                if kind == "class":
                    classes.append(val)
                else:
                    chars.add(val)
            else:
                is_range = False
                if s[self.i] == "-":
                    if self.i + 1 >= n:
                        raise PatternError("grep: " + _EBRACK)
                    if s[self.i + 1] != "]":
                        is_range = True
                        self.i += 1
                if is_range:
                    kind2, val2 = self._belem(True)
                    if kind2 in ("class", "equiv"):
                        raise PatternError("grep: " + _ERANGE)
                    if val != val2 and not (val in "0123456789" and val2 in "0123456789"):
                        self.regex_only = True
                    lo, hi = (_up(val), _up(val2)) if icase else (val, val2)
                    if lo > "\x7f" or hi > "\x7f":  # C.UTF-8 collates only ASCII
                        raise PatternError("grep: " + _ECOLLATE)
                    if lo > hi:
                        raise PatternError("grep: " + _ERANGE)
                    ranges.append((lo, hi))
                    colon |= 8
                else:
                    chars.add(val)
                    if kind == "char":
                        colon |= 2 if val == ":" else 4
            if self.i >= n:
                raise PatternError("grep: " + _EBRACK)
            if s[self.i] == "]":
                self.i += 1
                break
        if colon == 7 and not self.glibc:
            raise PatternError("grep: " + _COLON)
        if neg or any(ord(c) > 127 for c in chars) or (
                icase and any(ord(x) > 127 for c in chars for x in _fold(c))):
            self.regex_only = True
        return _set_frag(neg, chars, ranges, classes, icase)

    def _belem(self, first: bool) -> tuple[str, str]:
        """One bracket element: ("char"|"coll", ch) or ("class", name) or ("equiv", ch)."""
        s, n = self.s, len(self.s)
        c = s[self.i]
        if c == "[" and self.i + 1 < n and s[self.i + 1] in ".=:":
            delim = s[self.i + 1]
            self.i += 2
            j = s.find(delim + "]", self.i)
            name = s[self.i:j] if j >= 0 else ""
            if j < 0 or len(name.encode("utf-8", "surrogatepass")) >= 32:
                raise PatternError("grep: " + _EBRACK)
            self.i = j + 2
            if delim == ":":
                if name not in _CLASSES:
                    raise PatternError("grep: " + _ECTYPE)
                return "class", name
            if len(name.encode("utf-8", "surrogatepass")) != 1:
                raise PatternError("grep: " + _ECOLLATE)
            return ("coll" if delim == "." else "equiv"), name
        if c == "-" and not first and self.i + 1 < n and s[self.i + 1] != "]":
            raise PatternError("grep: " + _ERANGE)
        self.i += 1
        return "char", c


def _set_frag(neg: bool, chars: set[str], ranges: list[tuple[str, str]],
              classes: list[str], icase: bool) -> str:
    """A bracket expression as a Python fragment matching exactly one character."""
    parts: list[str] = []
    if icase:
        classes = ["alpha" if c in ("upper", "lower") else c for c in classes]
        folded: set[str] = set()
        for ch in chars:
            folded.update(_fold(ch))
        for lo, hi in ranges:  # glibc: towupper(c) in the upper-cased range
            for cp in range(ord(lo), ord(hi) + 1):
                folded.update(x for x in _fold(chr(cp)) if lo <= _up(x) <= hi)
        chars, ranges = folded, []
    body = "".join(_esc_in(c) for c in sorted(chars)) + "".join(
        _esc_in(a) + "-" + _esc_in(b) for a, b in ranges)
    if body:
        parts.insert(0, "[" + body + "]")
    parts.extend(_class_frag(c) for c in dict.fromkeys(classes))
    if not neg:
        return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"
    if len(parts) == 1 and parts[0].startswith("[") and not parts[0].startswith("[^"):
        return "[^" + parts[0][1:]
    return "(?:(?!" + "|".join(parts) + ").)"


# ---------------------------------------------------------------------------
# AST -> Python regex

_ANCHORS = {
    "^": "^", "`": "\\A", "$": "\\Z", "'": "\\Z",
    "<": "(?<!" + _WORD + ")(?=" + _WORD + ")",
    ">": "(?<=" + _WORD + ")(?!" + _WORD + ")",
    "b": "(?:(?<!" + _WORD + ")(?=" + _WORD + ")|(?<=" + _WORD + ")(?!" + _WORD + "))",
    "B": "(?:(?<=" + _WORD + ")(?=" + _WORD + ")|(?<!" + _WORD + ")(?!" + _WORD + "))",
}


def _emit(node: tuple, icase: bool, caps: bool) -> str:
    k = node[0]
    if k == "c":
        return _lit(node[1], icase)
    if k == "any":
        return "."
    if k == "set":
        return node[1]
    if k == "anc":
        return _ANCHORS[node[1]]
    if k == "cat":
        return "".join(_emit(x, icase, caps) for x in node[1])
    if k == "alt":
        return "(?:" + "|".join(_emit(x, icase, caps) for x in node[1]) + ")"
    if k == "grp":
        inner = _emit(node[1], icase, caps)
        return "(?P<g%d>%s)" % (node[2], inner) if caps else "(?:" + inner + ")"
    if k == "rep":
        lo, hi = node[2], node[3]
        q = {(0, None): "*", (1, None): "+", (0, 1): "?"}.get((lo, hi))
        if q is None:
            q = "{%d}" % lo if lo == hi else "{%d,}" % lo if hi is None else "{%d,%d}" % (lo, hi)
        return "(?:" + _emit(node[1], icase, caps) + ")" + q
    if k == "ref":
        return "(?i:(?P=g%d))" % node[1] if icase else "(?P=g%d)" % node[1]
    if k == "emp":
        return ""
    if k == "sup":
        return ".*"
    return "(?!)"


def _nullable(node: tuple) -> bool:
    k = node[0]
    if k in ("c", "any", "set", "fail"):
        return False
    if k == "cat":
        return all(_nullable(x) for x in node[1])
    if k == "alt":
        return any(_nullable(x) for x in node[1])
    if k == "grp":
        return _nullable(node[1])
    if k == "rep":
        return node[2] == 0 or _nullable(node[1])
    return True  # anc, emp, ref


def _alt(items: list[tuple]) -> tuple:
    items = [x for x in items if x is not _FAIL]
    if not items:
        return _FAIL
    return items[0] if len(items) == 1 else ("alt", tuple(items))


def _cat(items: list[tuple]) -> tuple:
    if any(x is _FAIL for x in items):
        return _FAIL
    items = [x for x in items if x is not _EMP]
    if not items:
        return _EMP
    return items[0] if len(items) == 1 else ("cat", tuple(items))


def _zero(node: tuple) -> tuple:
    """``node`` restricted to empty matches (backreference-free nodes)."""
    k = node[0]
    if k in ("c", "any", "set", "fail"):
        return _FAIL
    if k in ("anc", "emp"):
        return node
    if k == "cat":
        return _cat([_zero(x) for x in node[1]])
    if k == "alt":
        return _alt([_zero(x) for x in node[1]])
    if k == "grp":
        return _zero(node[1])
    return _EMP if node[2] == 0 else _zero(node[1])  # rep


def _nonempty(node: tuple) -> tuple:
    """``node`` restricted to non-empty matches (backreference-free nodes)."""
    k = node[0]
    if k in ("c", "any", "set"):
        return node
    if k in ("anc", "emp", "fail"):
        return _FAIL
    if k == "alt":
        return _alt([_nonempty(x) for x in node[1]])
    if k == "grp":
        return _nonempty(node[1])
    if k == "cat":
        xs = node[1]
        out = []
        for i, x in enumerate(xs):
            head = [_zero(y) for y in xs[:i]]
            out.append(_cat(head + [_nonempty(x)] + list(xs[i + 1:])))
            if not _nullable(x):
                break
        return _alt(out)
    inner, lo, hi = node[1], node[2], node[3]  # rep
    ne = _nonempty(inner)
    rest = _cat([ne, _rep(inner, max(lo - 1, 0), None if hi is None else hi - 1)])
    if lo >= 2 and _nullable(inner) and (hi is None or hi >= 2):
        more = _cat([_zero(inner), ne, _rep(inner, 0, None if hi is None else hi - 2)])
        return _alt([rest, more])
    return rest


def _small(node: tuple, budget: int) -> bool:
    """True when ``node`` written out has fewer than ``budget`` nodes (shared subtrees
    count each time they appear)."""
    stack = [node]
    while stack:
        budget -= 1
        if budget < 0:
            return False
        x = stack.pop()
        if x[0] in ("cat", "alt"):
            stack.extend(x[1])
        elif x[0] in ("grp", "rep"):
            stack.append(x[1])
    return True


def _rep(node: tuple, lo: int, hi: int | None) -> tuple:
    if hi == 0:
        return _EMP
    if lo == 1 and hi == 1:
        return node
    return ("rep", node, lo, hi)


# ---------------------------------------------------------------------------
# compilation


def _split(patterns: Iterable[str]) -> list[str]:
    """The patterns as GNU sees them: split at newlines, duplicates dropped."""
    out: dict[str, None] = {}
    for p in patterns:
        for q in p.split("\n"):
            out.setdefault(q, None)
    return list(out)


def _backref_text(p: str) -> bool:
    """GNU's possible_backrefs_in_pattern: a backslash then 1-9 anywhere."""
    i = p.find("\\")
    while 0 <= i < len(p) - 1:
        if "1" <= p[i + 1] <= "9":
            return True
        if p[i + 1] == "\\":
            i += 1
        i = p.find("\\", i + 1)
    return False


def _char_ok(ch: str, icase: bool) -> bool:
    """grep.c fgrep_icase_charlen: GNU's -F matcher can fold this character itself."""
    if not icase:
        return True
    f = _fold(ch)
    return all(ord(x) < 128 for x in f) if ord(ch) < 128 else len(f) == 1


def _as_fixed(pats: list[str], mode: str, icase: bool) -> list[str] | None:
    """grep.c try_fgrep_pattern: with two or more -G/-E patterns that are plain strings,
    GNU runs them with its -F matcher (no regex compiled, so no pattern error either).
    Returns the strings, or None."""
    if mode == "F" or len(pats) < 2:
        return None
    out = []
    for n, p in enumerate(pats):
        lit = []
        i = 0
        while i < len(p):
            ch = p[i]
            if ch in "$*.[^":
                return None
            if ch in "(+?{|" and mode != "G":
                return None
            if ch == "\\":
                if i + 1 == len(p):  # then comes '\n', unless this is the last pattern
                    if n + 1 < len(pats):
                        return None
                else:
                    nx = p[i + 1]
                    if nx in "BSW'<bsw`>123456789":
                        return None
                    if nx in "(+?{|)" and mode == "G":
                        return None
                    i += 1
                    ch = nx
            if not _char_ok(ch, icase):
                return None
            lit.append(ch)
            i += 1
        out.append("".join(lit))
    return out


def _kwset(pats: list[str], mode: str, icase: bool) -> bool:
    """True when GNU matches these patterns with its -F matcher (kwset), not regex."""
    if mode == "F":
        return all(_char_ok(ch, icase) for p in pats for ch in p)
    return _as_fixed(pats, mode, icase) is not None


_WRAP = {True: ("(^|[^[:alnum:]_])(", ")([^[:alnum:]_]|$)"),
         False: ("\\(^\\|[^[:alnum:]_]\\)\\(", "\\)\\([^[:alnum:]_]\\|$\\)")}


def _superset(pats: list[str], ere: bool, icase: bool, word: bool) -> tuple | None:
    """GNU's superset DFA: all patterns as its DFA parses them (with -w, inside the
    word wrapper, where an ERE's stray ')' closes the wrapper's group), constructs it
    cannot decide replaced by "any string", word anchors by nothing. GNU selects only
    lines this matches too. None when GNU builds no superset (no ordinary character)."""
    text = "\n".join(pats)
    if word:
        text = _WRAP[ere][0] + text + _WRAP[ere][1]
    try:
        ast = _Parser(text, ere, icase).parse()
    except PatternError:
        return None
    chars = []

    def walk(node: tuple) -> tuple:
        k = node[0]
        if k in ("c", "any") or (k == "set" and node[2]):
            chars.append(k)
            return node
        if k == "set" or k == "ref":
            return ("sup",)
        if k == "anc":
            return _EMP if node[1] in "<>bB" else node
        if k == "grp":
            return walk(node[1])
        if k == "rep":
            inner = walk(node[1])
            return inner if inner == ("sup",) else _rep(inner, node[2], node[3])
        if k == "cat":
            return _cat([walk(x) for x in node[1]])
        if k == "alt":
            return _alt([walk(x) for x in node[1]])
        return node

    sup = walk(ast)
    return sup if chars else None


@dataclass
class _Parsed:
    asts: list[tuple[tuple, bool, bool]]  # (ast, backslash-digit in text, real backref)
    superset: tuple | None = None


def _parse_all(opts: GrepOptions) -> _Parsed:
    """Every pattern parsed as GNU decides it; raises PatternError."""
    if opts.mode not in ("G", "E", "F"):
        raise ValueError("mode must be G, E or F")
    pats = _split(opts.patterns)
    fixed = pats if opts.mode == "F" else _as_fixed(pats, opts.mode, opts.ignore_case)
    if fixed is not None:
        return _Parsed([(_cat([("c", ch) for ch in p]), False, False) for p in fixed])
    ere, icase = opts.mode == "E", opts.ignore_case
    sup = None
    try:
        # glibc compiles every pattern first (its errors win), then the DFA parses them
        gparsers = [_Parser(p, ere, icase, glibc=True) for p in pats]
        gasts = [parser.parse() for parser in gparsers]
        parsers = [_Parser(p, ere, icase) for p in pats]
        asts = [parser.parse() for parser in parsers]
        if opts.word or any(parser.regex_only for parser in parsers):
            # glibc's regex decides, after GNU's superset DFA let the line through
            if gasts != asts or (opts.word and any(q.stray_rparen for q in parsers)):
                sup = _superset(pats, ere, icase, opts.word)
            parsers, asts = gparsers, gasts
    except RecursionError:
        raise PatternError("grep: " + _ESIZE) from None
    return _Parsed([(a, _backref_text(p), q.has_ref) for a, p, q in zip(asts, pats, parsers)],
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
        groups.append((_alt(plain) if len(plain) > 1 else plain[0], False))
    groups.extend((a, ref) for a, text, ref in asts if text)
    kwset = opts.word and _kwset(_split(opts.patterns), opts.mode, icase)
    out = []
    try:
        for ast, ref in groups:
            body = _emit(ast, icase, ref)
            if opts.word:
                ne = None
                if not (ref or kwset or not _nullable(ast)):
                    ne_ast = _nonempty(ast)
                    ne = _emit(ne_ast, icase, False) if _small(ne_ast, 20000) else None
                if ne is None:
                    body = "(?<!%s)(?:%s)(?!%s)" % (_WORD, body, _WORD)
                else:
                    # EGexecute: an empty match counts only where no longer match starts
                    body = ("(?<!%s)(?:(?:%s)(?!%s)|(?!%s)(?=%s)(?!%s))"
                            % (_WORD, ne, _WORD, _WORD, body, ne))
            out.append(re.compile(body))
        sup = None if parsed.superset is None else re.compile(
            _emit(parsed.superset, icase, False))
    except (re.error, RecursionError, OverflowError) as exc:  # pragma: no cover - limits
        raise PatternError("grep: " + _ESIZE) from exc
    return out, sup


def _invert_matches_nothing(opts: GrepOptions) -> bool:
    """GNU exits 1 at once, printing nothing, for ``grep -v ''`` (no -w)."""
    return opts.invert and not opts.word and _split(opts.patterns) == [""]


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
        items = ast[1] if ast[0] == "cat" else () if ast is _EMP else (ast,)
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
    lits = narrowing_literals(dataclasses.replace(opts, invert=False))
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
    special = [any(ord(x) > 127 for x in _fold(ch)) for ch in run]
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
        alts = [ch] + [x for x in _fold(ch) if ord(x) > 127]
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
    for x in list(node[1]) + [_EMP]:
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
