"""``Rule``: one way of finding secrets in a text, and the helpers rules are built from.

A rule has a *kind* (reported as ``[REDACTED:<kind>]``), a priority (when spans of two rules
overlap, the merged span is reported with the kind of the higher one), optional needles (a
text holding none of them is skipped without running the rule: a substring test costs
microseconds where a regex over 100 KB costs milliseconds) and ``find(text, lower)``, which
yields the ``(start, end)`` spans of the secrets. ``lower`` is ``text.lower()`` with the same
length (``Scanner`` guarantees it), for case-insensitive keyword searches by position.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

Span = tuple[int, int]

#: Characters a token continues with: a match is extended over them, so a key longer than
#: a detector's fixed length (Stripe's are) is hidden whole. JWTs also continue over dots.
TOKEN_TAIL = re.compile(r"[A-Za-z0-9_\-]*")
JWT_TAIL = re.compile(r"(?:[A-Za-z0-9_\-+/=]|\.(?=[A-Za-z0-9_\-]))*")
#: Delimiters some detector regexes include around the secret (Artifactory's ``\s``/``"``).
EDGE = " \t\r\n\"'=:,;`"
#: A capture group at least this long is the secret itself (assignment-shaped detector
#: regexes: ``aws_secret_key = '<40 chars>'``); otherwise the whole match is.
SECRET_GROUP_MIN = 16


@dataclass(frozen=True)
class Rule:
    """One way of finding secrets (see the module docstring). ``needles`` are lower-case and
    tested against ``lower``; ``cased_needles`` against the text itself; a rule with neither
    (and no ``gate``) always runs."""

    kind: str
    priority: int
    find: Callable[[str, str], Iterable[Span]]
    needles: tuple[str, ...] = ()
    cased_needles: tuple[str, ...] = ()
    gate: Callable[[str], bool] | None = None

    def applies(self, text: str, lower: str) -> bool:
        """False when the text holds none of the rule's needles, or ``gate(text)`` (a cheap test
        every text with a match passes) is False: the rule cannot match."""
        if self.gate is not None and not self.gate(text):
            return False
        if not self.needles and not self.cased_needles:
            return True
        return any(n in lower for n in self.needles) or any(n in text for n in self.cased_needles)


def extend(text: str, end: int, tail: re.Pattern | None) -> int:
    """``end`` moved past the token characters (``tail``, a pattern such as ``[...]*`` that
    matches at every position) that follow it."""
    if tail is None or end == 0 or text[end - 1] in EDGE:
        return end
    more = tail.match(text, end)
    return more.end() if more else end


def detector_span(match: re.Match, tail: re.Pattern | None) -> Span:
    """The secret's span in a detector's match: its longest capture group when that is at
    least ``SECRET_GROUP_MIN`` characters, else the whole match without delimiters; then
    extended over ``tail`` (a detector's ``secret_value`` is sometimes only a short group,
    e.g. ``ghp`` for a GitHub token: the whole span is what must go)."""
    start, end = match.span()
    best = None
    for index in range(1, (match.re.groups or 0) + 1):
        s, e = match.span(index)
        if s >= 0 and e - s >= SECRET_GROUP_MIN and (best is None or e - s > best[1] - best[0]):
            best = (s, e)
    if best is not None:
        start, end = best
    else:
        text = match.string
        while start < end and text[start] in EDGE:
            start += 1
        while end > start and text[end - 1] in EDGE:
            end -= 1
    return start, extend(match.string, end, tail) if end > start else end


def regex_rule(
    kind: str,
    regex: re.Pattern | tuple[str, int],
    priority: int,
    *,
    group: int | str | None = None,
    tail: re.Pattern | None = None,
    check: Callable[[re.Match, str], bool] | None = None,
    left_boundary: bool = False,
    needles: tuple[str, ...] = (),
    cased_needles: tuple[str, ...] = (),
    gate: Callable[[str], bool] | None = None,
) -> Rule:
    """A rule that runs ``regex`` with ``finditer`` (given as ``(source, flags)``, it is compiled
    on first use: most texts pass no detector's needles). The secret is capture ``group`` (whole
    match for 0), or ``detector_span`` when ``group`` is None; ``tail`` extends it;
    ``check(match, value)`` drops a match when False; ``left_boundary`` drops a match
    preceded by a letter or digit (a literal-first regex is 20x faster than one starting
    with ``\\b``, so the boundary is checked here)."""

    compiled: list[re.Pattern] = [regex] if isinstance(regex, re.Pattern) else []
    pending = None if isinstance(regex, re.Pattern) else regex  # (source, flags) until compiled

    def find(text: str, lower: str) -> Iterator[Span]:
        if not compiled and pending is not None:
            try:
                compiled.append(re.compile(*pending))
            except (re.error, ValueError, TypeError):  # a cache from elsewhere: the rule stays inert
                compiled.append(re.compile(r"(?!)"))
        for match in compiled[0].finditer(text):
            if group is None:
                start, end = detector_span(match, tail)
            else:
                start, end = match.span(group)
                if start < 0:
                    continue
                end = extend(text, end, tail)
            if end <= start:
                continue
            if left_boundary and match.start() > 0 and text[match.start() - 1].isalnum():
                continue
            if check is not None and not check(match, text[start:end]):
                continue
            yield start, end

    return Rule(kind, priority, find, needles, cased_needles, gate)


def literal_rule(kind: str, secret: str, priority: int = 80) -> Rule:
    """A rule hiding one known secret wherever it appears (the Deeplake token in use)."""
    return Rule(kind, priority, lambda text, lower: _occurrences(text, secret), cased_needles=(secret,))


def _occurrences(text: str, needle: str) -> Iterator[Span]:
    at = text.find(needle)
    while at >= 0:
        yield at, at + len(needle)
        at = text.find(needle, at + len(needle))


def custom_rules(sources: list[str], log) -> list[Rule]:
    """``LAKELOOP_REDACT_PATTERNS`` regexes as rules of kind ``custom`` (the whole match is the
    secret; empty matches are ignored). A regex that does not compile is logged (its number
    and the error, never its text, which may hold the secret itself) and ignored."""
    rules = []
    for number, source in enumerate(sources, 1):
        try:
            regex = re.compile(source)
        except (re.error, OverflowError, RecursionError) as exc:
            log.warning(
                "LAKELOOP_REDACT_PATTERNS: pattern %d is not a valid regular expression (%s): ignored",
                number,
                getattr(exc, "msg", type(exc).__name__),
            )
            continue
        rules.append(regex_rule("custom", regex, 10, group=0))
    return rules


# -- shell words, in plain text and in JSON text ---------------------------------------------
# Captured commands are often JSON text (a stored tool_input: ``"mysql -p\"pw\""``), so a quote
# may come with backslashes and a newline may be the two characters ``\n``. These helpers read
# words by position (spans into the text), never unescaping it.

#: Characters that end a bare word (and, but for quotes, the command it is in).
WORD_END = frozenset(" \t\r\n;&|<>()`\"'")
#: A run of characters that neither end a word nor start a quote or an escape.
_BARE_RUN = re.compile(r"[^ \t\r\n;&|<>()`\"'\\]+")
#: Characters that end a command.
COMMAND_END = frozenset("\r\n;&|()`")
#: Longest quoted chunk looked at, and longest word read (characters).
MAX_QUOTED = 512
MAX_WORD = 1024


def quote_at(text: str, at: int) -> str:
    """The quote opening a quoted chunk at ``at`` with the backslashes escaping it (``'``,
    ``"``, ``\\"``, ``\\\\\\"`` ...), or '' when there is none."""
    slashes = 0
    while at + slashes < len(text) and text[at + slashes] == "\\":
        slashes += 1
    if at + slashes < len(text):
        char = text[at + slashes]
        if char == '"' or (char == "'" and not slashes):
            return text[at : at + slashes + 1]
    return ""


def closing_quote(text: str, start: int, quote: str, limit: int = MAX_QUOTED) -> int:
    """Index of the ``quote`` (same escaping) that closes a chunk whose content starts at
    ``start``, on the same line and within ``limit`` characters, or -1."""
    end = min(len(text), start + limit + len(quote))
    at = start
    while True:
        found = text.find(quote, at, end)
        if found < 0:
            return -1
        if found > start and text[found - 1] == "\\":
            at = found + 1  # escaped once more: inside the chunk
            continue
        return -1 if text.find("\n", start, found) >= 0 else found


def escaped_break(text: str, at: int) -> bool:
    """True when ``text[at:]`` starts with a JSON-escaped line end or tab: backslashes then
    ``n``, ``r`` or ``t`` (``\\n`` in JSON text, ``\\\\n`` in JSON inside JSON)."""
    run = at
    while run < len(text) and text[run] == "\\":
        run += 1
    return run > at and run < len(text) and text[run] in "nrt"


def continuation(text: str, at: int) -> int:
    """Length of the shell line continuation (a backslash and a line end, also as JSON text:
    ``\\\\\\n``) at ``at``, or 0."""
    if text.startswith("\\\n", at):
        return 2
    if text.startswith("\\\r\n", at):
        return 3
    if text.startswith("\\\\\\n", at):
        return 4
    return 0


def skip_blanks(text: str, at: int, limit: int | None = None) -> int:
    """``at`` moved past spaces and tabs (and JSON-escaped ``\\t``) and line continuations, not
    past a line end."""
    limit = len(text) if limit is None else limit
    while at < limit:
        if text[at] in " \t":
            at += 1
        elif text[at] == "\\" and continuation(text, at):
            at += continuation(text, at)
        elif text[at] == "\\" and escaped_break(text, at):
            run = at
            while text[run] == "\\":
                run += 1
            if text[run] != "t":
                break
            at = run + 1
        else:
            break
    return at


def read_word(text: str, at: int, limit: int = MAX_WORD) -> int:
    """End of the shell word starting at ``at`` (``at`` itself when none starts there). A word is
    bare characters and quoted chunks; a quote opens a chunk at the word's start or after ``=``,
    ``:`` or a short option (``-p"x"``), elsewhere it ends the word (the end of a JSON string);
    a chunk must be followed by a blank or a command end (else the word ends before it). A word
    is cut after ``limit`` characters (captured text is hostile: the cost stays bounded)."""
    i = at
    stop = min(len(text), at + limit)
    while i < stop:
        run = _BARE_RUN.match(text, i, stop)
        if run is not None:
            i = run.end()
            continue
        char = text[i]
        if char in " \t\r\n" or escaped_break(text, i):
            break
        quote = quote_at(text, i) if char in "\\\"'" else ""
        if quote:
            if not (i == at or text[i - 1] in "=:" or (i - at == 2 and text[at] == "-")):
                break
            close = closing_quote(text, i + len(quote), quote)
            after = close + len(quote)
            if close < 0 or not (after >= len(text) or text[after] in WORD_END or text[after] == "\\"):
                break
            i = after
            continue
        if char == "\\":
            while i < len(text) and text[i] == "\\":
                i += 1
            i += 1  # an escape inside a bare word: the backslashes and the escaped character
            continue
        if char in WORD_END:
            break
        i += 1
    return min(i, stop)


def unquoted(text: str, start: int, end: int) -> Span:
    """``(start, end)`` without the quotes when ``text[start:end]`` is one quoted chunk."""
    quote = quote_at(text, start)
    if (
        quote
        and end - start >= 2 * len(quote)
        and text.endswith(quote, start, end)
        and (closing_quote(text, start + len(quote), quote) == end - len(quote))
    ):
        return start + len(quote), end - len(quote)
    return start, end


def read_command(
    text: str, at: int, max_words: int = 64, herestrings: list[Span] | None = None
) -> tuple[list[Span], int]:
    """``(word spans, end)`` of the command whose arguments start at ``at``: words up to a line end
    (also ``\\n`` in JSON text), ``;``, ``|``, ``&``, a parenthesis or a backquote. A redirection
    (``2>/dev/null``, ``< in.sql``) and its target are skipped; a here-string's (``<<< WORD``)
    word goes to ``herestrings`` when given. ``end`` is where the command stopped."""
    words: list[Span] = []
    i = at
    while len(words) < max_words:
        i = skip_blanks(text, i)
        if i >= len(text) or text[i] in COMMAND_END or escaped_break(text, i):
            break
        if text[i] in "<>":
            if words and text[words[-1][0] : words[-1][1]].isdigit() and words[-1][1] == i:
                words.pop()  # 2>...
            operator = i
            while i < len(text) and text[i] in "<>&":
                i += 1
            target = skip_blanks(text, i)
            i = read_word(text, target)
            if herestrings is not None and text.startswith("<<<", operator) and i > target:
                herestrings.append((target, i))
            continue
        end = read_word(text, i)
        if end == i:
            break  # a quote that is not a word's: the end of a JSON string
        words.append((i, end))
        i = end
    return words, i


def keyword_spans(lower: str, keywords: tuple[str, ...]) -> list[Span]:
    """``(start, end)`` of every occurrence of the lower-case ``keywords`` in ``lower``, sorted,
    the longest where several start at one place, none inside an earlier one. One substring
    search per keyword: several times faster than a regex alternation of them."""
    longest: dict[int, int] = {}
    for keyword in keywords:
        size = len(keyword)
        at = lower.find(keyword)
        while at >= 0:
            if size > longest.get(at, 0):
                longest[at] = size
            at = lower.find(keyword, at + 1)
    spans, done = [], -1
    for start in sorted(longest):
        if start >= done:
            done = start + longest[start]
            spans.append((start, done))
    return spans
