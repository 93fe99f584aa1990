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
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

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
    """``end`` moved past the token characters (``tail``) that follow it."""
    if tail is None or end == 0 or text[end - 1] in EDGE:
        return end
    return tail.match(text, end).end()


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


def regex_rule(kind: str, regex: re.Pattern | tuple[str, int], priority: int, *, group: int | str | None = None,
               tail: re.Pattern | None = None, check: Callable[[re.Match, str], bool] | None = None,
               left_boundary: bool = False, needles: tuple[str, ...] = (),
               cased_needles: tuple[str, ...] = (), gate: Callable[[str], bool] | None = None) -> Rule:
    """A rule that runs ``regex`` with ``finditer`` (given as ``(source, flags)``, it is compiled
    on first use: most texts pass no detector's needles). The secret is capture ``group`` (whole
    match for 0), or ``detector_span`` when ``group`` is None; ``tail`` extends it;
    ``check(match, value)`` drops a match when False; ``left_boundary`` drops a match
    preceded by a letter or digit (a literal-first regex is 20x faster than one starting
    with ``\\b``, so the boundary is checked here)."""

    compiled: list[re.Pattern] = [regex] if isinstance(regex, re.Pattern) else []

    def find(text: str, lower: str) -> Iterator[Span]:
        if not compiled:
            try:
                compiled.append(re.compile(*regex))
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
            log.warning("LAKELOOP_REDACT_PATTERNS: pattern %d is not a valid regular expression (%s): ignored",
                        number, getattr(exc, "msg", type(exc).__name__))
            continue
        rules.append(regex_rule("custom", regex, 10, group=0))
    return rules
