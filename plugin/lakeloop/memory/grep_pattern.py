"""The pattern front end of ``lakeloop.memory.grep``: GNU grep 3.8 patterns to Python ``re``.

``compile_pattern(patterns, mode, ignore_case, word)`` is the entry ``grep`` uses: it parses a
pattern list as GNU grep decides it and returns a ``CompiledPattern`` (its plain substrings when
a substring test is exact, its Python regexes, its narrowing literals); a bad pattern raises
``PatternError``. Underneath:
``Parser(pattern, ere, icase, glibc=False).parse()`` reads one BRE/ERE pattern the way
GNU grep does (its DFA lexer for the structure, glibc's regcomp where they disagree and
for the errors) into a tuple AST (node kinds below); ``to_regex(ast, icase, caps)`` writes
the AST as a Python regex, every pattern character escaped, so no captured byte becomes
a regex flag or construct. ``PatternError`` carries GNU's message, e.g. ``grep: Trailing
backslash``. Also here: the glibc C.UTF-8 character classes, GNU's ``-i`` case folding
(``fold_case``), bracket expressions (``_set_frag``), AST rewrites for ``-w`` (``nonempty``,
``_zero``) and grep.c's view of the pattern list (``split_patterns``, ``as_fixed`` for the
``-F`` switch, ``uses_kwset``, ``superset_pattern`` for the superset DFA).
"""

from __future__ import annotations

import re

from ..errors import MemoryRefused

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

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
#: glibc's message for a pattern too big to compile (also used by ``grep`` for a too-big ``re``).
ESIZE = "Regular expression too big"
_COLON = "character class syntax is [[:space:]], not [:space:]"


class PatternError(MemoryRefused):
    """A pattern GNU grep refuses; ``str()`` is GNU grep's message, e.g. ``grep: Unmatched ( or \\(``
    (never the pattern itself)."""


# ---------------------------------------------------------------------------
# character classes (glibc C.UTF-8, exact in ASCII and Latin-1)

_NOTW = "\\xb2\\xb3\\xb9\\xbc-\\xbe"  # Latin-1 numerics Python calls \w and glibc does not
#: A word character (letters, digits, ``_``) as glibc C.UTF-8 sees it, as an ``re`` class.
WORD_CHAR = "[^\\W" + _NOTW + "]"
_NWORD = "[\\W" + _NOTW + "]"
_SPACES = " \\t\\n\\v\\f\\r\\u1680\\u2000-\\u2006\\u2008-\\u200a\\u2028\\u2029\\u205f\\u3000"
_NOGRAPH = "\\x00-\\x20\\x7f-\\x9f\\u1680\\u2000-\\u2006\\u2008-\\u200a\\u2028\\u2029\\u205f\\u3000"
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
_SHORT = {"w": WORD_CHAR, "W": _NWORD, "s": "[" + _SPACES + "]", "S": "[^" + _SPACES + "]"}
_case_cache: dict[str, str] = {}


def _case_class(name: str) -> str:
    """``[[:upper:]]``/``[[:lower:]]`` as an explicit class (built once, ~20 ms)."""
    frag = _case_cache.get(name)
    if frag is None:
        extra = "\u01c5\u01c8\u01cb\u01f2"
        test = (
            (lambda ch: ch.isupper() or ch.istitle()) if name == "upper" else (lambda ch: ch.islower() or ch in extra)
        )
        runs: list[list[int]] = []
        for cp in range(0x20000):
            if test(chr(cp)):
                if runs and runs[-1][1] == cp - 1:
                    runs[-1][1] = cp
                else:
                    runs.append([cp, cp])
        # BMP and beyond apart: re keeps a BMP-only set as one fast bitmap
        parts = [
            "["
            + "".join(
                _esc_in(chr(a)) if a == b else _esc_in(chr(a)) + "-" + _esc_in(chr(b))
                for a, b in runs
                if (a > 0xFFFF) == astral
            )
            + "]"
            for astral in (False, True)
        ]
        bmp, astral_set = parts
        frag = f"(?:{bmp}|[\\U00010000-\\U0010ffff](?<={astral_set}))"
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

_LONESOME = (
    "\u00b5\u0131\u017f\u01c5\u01c8\u01cb\u01f2\u0345\u03c2\u03d0\u03d1\u03d5\u03d6\u03f0\u03f1\u03f2\u03f5\u1e9b\u1fbe"
)


def _up(ch: str) -> str:
    u = ch.upper()
    return u if len(u) == 1 else ch


def _low(ch: str) -> str:
    lo = ch.lower()
    return lo if len(lo) == 1 else ch


def fold_case(ch: str) -> str:
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
        f = fold_case(ch)
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
#: The AST node matching the empty string.
EMPTY = ("emp",)
_FAIL = ("fail",)


def _capped(digits: str) -> int:
    n = 0
    for d in digits:
        n = min(RE_DUP_MAX + 1, n * 10 + ord(d) - 48)
    return n


class Parser:
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
        self.lasttok: int | str = _END  # the last token's kind, "n" for an atom
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
        items = [x for x in items if x is not EMPTY]
        if not items:
            return EMPTY
        return items[0] if len(items) == 1 else ("cat", tuple(items))

    def _closure(self) -> tuple:
        node = self._atom()
        while self.tok[0] in (_STAR, _PLUS, _QM, _REP):
            t = self.tok
            lo, hi = {_STAR: (0, None), _PLUS: (1, None), _QM: (0, 1)}.get(t[0], t[1:3])
            if node is EMPTY or (lo == 0 and hi == 0):
                node = EMPTY
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
        return EMPTY

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
            rest = s[self.i :]
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
            msg = {ESIZE: "regular expression too big"}.get(msg, "invalid content of \\{\\}")
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
            m = re.match(r"([0-9]*)(?:(,)([0-9]*))?}", self.s[self.i :])
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
            self._fail(ESIZE)
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
        if (
            neg
            or any(ord(c) > 127 for c in chars)
            or (icase and any(ord(x) > 127 for c in chars for x in fold_case(c)))
        ):
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
            name = s[self.i : j] if j >= 0 else ""
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


def _set_frag(neg: bool, chars: set[str], ranges: list[tuple[str, str]], classes: list[str], icase: bool) -> str:
    """A bracket expression as a Python fragment matching exactly one character."""
    parts: list[str] = []
    if icase:
        classes = ["alpha" if c in ("upper", "lower") else c for c in classes]
        folded: set[str] = set()
        for ch in chars:
            folded.update(fold_case(ch))
        for lo, hi in ranges:  # glibc: towupper(c) in the upper-cased range
            for cp in range(ord(lo), ord(hi) + 1):
                folded.update(x for x in fold_case(chr(cp)) if lo <= _up(x) <= hi)
        chars, ranges = folded, []
    body = "".join(_esc_in(c) for c in sorted(chars)) + "".join(_esc_in(a) + "-" + _esc_in(b) for a, b in ranges)
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
    "^": "^",
    "`": "\\A",
    "$": "\\Z",
    "'": "\\Z",
    "<": "(?<!" + WORD_CHAR + ")(?=" + WORD_CHAR + ")",
    ">": "(?<=" + WORD_CHAR + ")(?!" + WORD_CHAR + ")",
    "b": "(?:(?<!" + WORD_CHAR + ")(?=" + WORD_CHAR + ")|(?<=" + WORD_CHAR + ")(?!" + WORD_CHAR + "))",
    "B": "(?:(?<=" + WORD_CHAR + ")(?=" + WORD_CHAR + ")|(?<!" + WORD_CHAR + ")(?!" + WORD_CHAR + "))",
}


def to_regex(node: tuple, icase: bool, caps: bool) -> str:
    """The Python ``re`` text of the AST ``node``, every pattern character escaped; ``icase``: GNU's
    ``-i`` folding; ``caps``: groups capture (back-references need them)."""
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
        return "".join(to_regex(x, icase, caps) for x in node[1])
    if k == "alt":
        return "(?:" + "|".join(to_regex(x, icase, caps) for x in node[1]) + ")"
    if k == "grp":
        inner = to_regex(node[1], icase, caps)
        return f"(?P<g{node[2]}>{inner})" if caps else "(?:" + inner + ")"
    if k == "rep":
        lo, hi = node[2], node[3]
        q = {(0, None): "*", (1, None): "+", (0, 1): "?"}.get((lo, hi))
        if q is None:
            q = f"{{{lo}}}" if lo == hi else f"{{{lo},}}" if hi is None else f"{{{lo},{hi}}}"
        return "(?:" + to_regex(node[1], icase, caps) + ")" + q
    if k == "ref":
        return f"(?i:(?P=g{node[1]}))" if icase else f"(?P=g{node[1]})"
    if k == "emp":
        return ""
    if k == "sup":
        return ".*"
    return "(?!)"


def nullable(node: tuple) -> bool:
    """True when the AST ``node`` can match the empty string."""
    k = node[0]
    if k in ("c", "any", "set", "fail"):
        return False
    if k == "cat":
        return all(nullable(x) for x in node[1])
    if k == "alt":
        return any(nullable(x) for x in node[1])
    if k == "grp":
        return nullable(node[1])
    if k == "rep":
        return node[2] == 0 or nullable(node[1])
    return True  # anc, emp, ref


def alternation(items: list[tuple]) -> tuple:
    """The AST node matching any of ``items`` (never-matching items dropped, one item as itself)."""
    items = [x for x in items if x is not _FAIL]
    if not items:
        return _FAIL
    return items[0] if len(items) == 1 else ("alt", tuple(items))


def concat(items: list[tuple]) -> tuple:
    """The AST node matching ``items`` in sequence (empty items dropped; never matches if one never does)."""
    if any(x is _FAIL for x in items):
        return _FAIL
    items = [x for x in items if x is not EMPTY]
    if not items:
        return EMPTY
    return items[0] if len(items) == 1 else ("cat", tuple(items))


def _zero(node: tuple) -> tuple:
    """``node`` restricted to empty matches (backreference-free nodes)."""
    k = node[0]
    if k in ("c", "any", "set", "fail"):
        return _FAIL
    if k in ("anc", "emp"):
        return node
    if k == "cat":
        return concat([_zero(x) for x in node[1]])
    if k == "alt":
        return alternation([_zero(x) for x in node[1]])
    if k == "grp":
        return _zero(node[1])
    return EMPTY if node[2] == 0 else _zero(node[1])  # rep


def nonempty(node: tuple) -> tuple:
    """``node`` restricted to non-empty matches (backreference-free nodes)."""
    k = node[0]
    if k in ("c", "any", "set"):
        return node
    if k in ("anc", "emp", "fail"):
        return _FAIL
    if k == "alt":
        return alternation([nonempty(x) for x in node[1]])
    if k == "grp":
        return nonempty(node[1])
    if k == "cat":
        xs = node[1]
        out = []
        for i, x in enumerate(xs):
            head = [_zero(y) for y in xs[:i]]
            out.append(concat(head + [nonempty(x)] + list(xs[i + 1 :])))
            if not nullable(x):
                break
        return alternation(out)
    inner, lo, hi = node[1], node[2], node[3]  # rep
    ne = nonempty(inner)
    rest = concat([ne, _rep(inner, max(lo - 1, 0), None if hi is None else hi - 1)])
    if lo >= 2 and nullable(inner) and (hi is None or hi >= 2):
        more = concat([_zero(inner), ne, _rep(inner, 0, None if hi is None else hi - 2)])
        return alternation([rest, more])
    return rest


def small(node: tuple, budget: int) -> bool:
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
        return EMPTY
    if lo == 1 and hi == 1:
        return node
    return ("rep", node, lo, hi)


# ---------------------------------------------------------------------------
# pattern lists as grep.c sees them (splitting, -F switch, superset DFA)


def split_patterns(patterns: Iterable[str]) -> list[str]:
    """The patterns as GNU sees them: split at newlines, duplicates dropped."""
    out: dict[str, None] = {}
    for p in patterns:
        for q in p.split("\n"):
            out.setdefault(q, None)
    return list(out)


def backref_text(p: str) -> bool:
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
    f = fold_case(ch)
    return all(ord(x) < 128 for x in f) if ord(ch) < 128 else len(f) == 1


def as_fixed(pats: list[str], mode: str, icase: bool) -> list[str] | None:
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


def uses_kwset(pats: list[str], mode: str, icase: bool) -> bool:
    """True when GNU matches these patterns with its -F matcher (kwset), not regex."""
    if mode == "F":
        return all(_char_ok(ch, icase) for p in pats for ch in p)
    return as_fixed(pats, mode, icase) is not None


_WRAP = {
    True: ("(^|[^[:alnum:]_])(", ")([^[:alnum:]_]|$)"),
    False: ("\\(^\\|[^[:alnum:]_]\\)\\(", "\\)\\([^[:alnum:]_]\\|$\\)"),
}


def superset_pattern(pats: list[str], ere: bool, icase: bool, word: bool) -> tuple | None:
    """GNU's superset DFA: all patterns as its DFA parses them (with -w, inside the
    word wrapper, where an ERE's stray ')' closes the wrapper's group), constructs it
    cannot decide replaced by "any string", word anchors by nothing. GNU selects only
    lines this matches too. None when GNU builds no superset (no ordinary character)."""
    text = "\n".join(pats)
    if word:
        text = _WRAP[ere][0] + text + _WRAP[ere][1]
    try:
        ast = Parser(text, ere, icase).parse()
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
            return EMPTY if node[1] in "<>bB" else node
        if k == "grp":
            return walk(node[1])
        if k == "rep":
            inner = walk(node[1])
            return inner if inner == ("sup",) else _rep(inner, node[2], node[3])
        if k == "cat":
            return concat([walk(x) for x in node[1]])
        if k == "alt":
            return alternation([walk(x) for x in node[1]])
        return node

    sup = walk(ast)
    return sup if chars else None


# ---------------------------------------------------------------------------
# the compile entry: a pattern list as GNU grep decides it


class CompiledPattern:
    """A ``-e`` pattern list as GNU grep 3.8 decides it (what ``compile_pattern`` returns).

    ``patterns``: the patterns as GNU sees them (split at newlines, duplicates dropped), a tuple
    of str; ``mode`` (``"G"``, ``"E"`` or ``"F"``), ``ignore_case`` (``-i``) and ``word``
    (``-w``): as given. A matcher is built from ``fixed_strings()``, ``regexes()`` and
    ``literals()``; ``-v`` is the caller's (none of these depends on it)."""

    __slots__ = ("patterns", "mode", "ignore_case", "word", "_asts", "_superset", "_compiled")

    def __init__(
        self,
        patterns: list[str],
        mode: str,
        ignore_case: bool,
        word: bool,
        asts: list[tuple[tuple, bool, bool]],
        superset: tuple | None,
    ) -> None:
        self.patterns = tuple(patterns)
        self.mode, self.ignore_case, self.word = mode, ignore_case, word
        self._asts = asts  # (ast, backslash-digit in the text, real back-reference)
        self._superset = superset  # GNU's superset DFA as an AST, or None
        self._compiled: tuple[list[re.Pattern[str]], re.Pattern[str] | None] | None = None

    def fixed_strings(self) -> tuple[str, ...] | None:
        """The patterns as plain substrings when a substring test is exactly GNU's match (no
        ``-w``, no superset filter; with ``-i`` only ASCII characters other than ``i``/``s``,
        whose sole counterpart is the other case), else None."""
        if self.word or self._superset is not None:
            return None
        out = []
        for ast, _, _ in self._asts:
            items = ast[1] if ast[0] == "cat" else () if ast is EMPTY else (ast,)
            if any(x[0] != "c" for x in items):
                return None
            text = "".join(x[1] for x in items)
            if self.ignore_case and not all(c.isascii() and c not in "iIsS" for c in text):
                return None
            out.append(text)
        return tuple(out)

    def regexes(self) -> tuple[list[re.Pattern[str]], re.Pattern[str] | None]:
        """``(regexes, superset)``: the Python regexes whose any-search decides whether a line
        (without its ``\\n``) matches, and a regex every selected line must match too (GNU's
        superset DFA) or None. Like GNU, the patterns without a backslash-digit are one regex,
        each other pattern is its own (back-references are local to a pattern). Compiled on the
        first call. Raises ``PatternError`` (``grep: Regular expression too big``) when ``re``
        cannot compile them."""
        if self._compiled is None:
            self._compiled = self._compile()
        return self._compiled

    def _compile(self) -> tuple[list[re.Pattern[str]], re.Pattern[str] | None]:
        asts = self._asts
        icase = self.ignore_case
        groups = []
        plain = [a for a, text, _ in asts if not text]
        if plain:
            groups.append((alternation(plain) if len(plain) > 1 else plain[0], False))
        groups.extend((a, ref) for a, text, ref in asts if text)
        kwset = self.word and uses_kwset(list(self.patterns), self.mode, icase)
        out = []
        try:
            for ast, ref in groups:
                body = to_regex(ast, icase, ref)
                if self.word:
                    ne = None
                    if not (ref or kwset or not nullable(ast)):
                        ne_ast = nonempty(ast)
                        ne = to_regex(ne_ast, icase, False) if small(ne_ast, 20000) else None
                    if ne is None:
                        body = f"(?<!{WORD_CHAR})(?:{body})(?!{WORD_CHAR})"
                    else:
                        # EGexecute: an empty match counts only where no longer match starts
                        body = f"(?<!{WORD_CHAR})(?:(?:{ne})(?!{WORD_CHAR})|(?!{WORD_CHAR})(?={body})(?!{ne}))"
                out.append(re.compile(body))
            sup = None if self._superset is None else re.compile(to_regex(self._superset, icase, False))
        except (re.error, RecursionError, OverflowError) as exc:  # pragma: no cover - limits
            raise PatternError("grep: " + ESIZE) from exc
        return out, sup

    def literals(self) -> tuple[str, ...] | None:
        """Strings (each >= 3 characters) one of which, compared ASCII-case-insensitively, is in
        every line the patterns match; None when no such set is known (patterns like ``.*``).
        With ``-i`` the strings may spell ``i``/``s`` as ``ı``/``ſ`` (GNU folds those together);
        other non-ASCII letters end a literal."""
        out: list[str] = []
        for ast, _, _ in self._asts:
            r = _required(ast, self.ignore_case)
            if r is None:
                return None
            out.extend(r)
        out = list(dict.fromkeys(out))
        if not out or len(out) > 64 or any(len(x) < 3 for x in out):
            return None
        return tuple(out)


def compile_pattern(
    patterns: Iterable[str], mode: str = "G", ignore_case: bool = False, word: bool = False
) -> CompiledPattern:
    """The ``-e`` ``patterns`` (one holding newlines is several) parsed as GNU grep 3.8 decides
    them for ``mode`` (``"G"`` BRE, ``"E"`` ERE, ``"F"`` fixed strings), ``ignore_case`` (``-i``)
    and ``word`` (``-w``). Raises ``PatternError`` (GNU's message) for a pattern GNU refuses,
    ``ValueError`` for another ``mode``. No ``re`` regex is compiled yet
    (``CompiledPattern.regexes``)."""
    if mode not in ("G", "E", "F"):
        raise ValueError("mode must be G, E or F")
    pats = split_patterns(patterns)
    fixed = pats if mode == "F" else as_fixed(pats, mode, ignore_case)
    if fixed is not None:
        return CompiledPattern(
            pats, mode, ignore_case, word, [(concat([("c", ch) for ch in p]), False, False) for p in fixed], None
        )
    ere = mode == "E"
    sup = None
    try:
        # glibc compiles every pattern first (its errors win), then the DFA parses them
        gparsers = [Parser(p, ere, ignore_case, glibc=True) for p in pats]
        gasts = [parser.parse() for parser in gparsers]
        parsers = [Parser(p, ere, ignore_case) for p in pats]
        asts = [parser.parse() for parser in parsers]
        if word or any(parser.regex_only for parser in parsers):
            # glibc's regex decides, after GNU's superset DFA let the line through
            if gasts != asts or (word and any(q.stray_rparen for q in parsers)):
                sup = superset_pattern(pats, ere, ignore_case, word)
            parsers, asts = gparsers, gasts
    except RecursionError:
        raise PatternError("grep: " + ESIZE) from None
    return CompiledPattern(
        pats, mode, ignore_case, word, [(a, backref_text(p), q.has_ref) for a, p, q in zip(asts, pats, parsers)], sup
    )


# ---------------------------------------------------------------------------
# narrowing literals (CompiledPattern.literals)


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
    win = run[best[1] : best[2]]
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
