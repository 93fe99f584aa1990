"""Applying the rules (``lakeloop.redact.patterns.build_rules``) to a text: find every secret's span, merge, replace.

Every rule runs over the whole text (``finditer``); the spans found are merged where they
overlap (the merged span takes the kind of the rule with the highest priority) and each is
replaced by ``[REDACTED:<kind>]``. A span never starts or ends inside a backslash escape,
so JSON text stays JSON text (``[REDACTED:...]`` holds no quote or backslash).
"""

from __future__ import annotations

from collections.abc import Iterable

from .rules import Rule

MARK = "[REDACTED:{kind}]"


def _escape_safe(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` widened so that neither edge splits a backslash escape (``\\"``,
    ``\\n``, ``\\u00e9``): the span then removes whole escapes only."""
    run = 0
    while start - run > 0 and text[start - run - 1] == "\\":
        run += 1
    if run % 2:
        start -= 1
    run = 0
    while end - run > start and text[end - run - 1] == "\\":
        run += 1
    if run % 2 and end < len(text):
        end += 5 if text[end] == "u" else 1
        end = min(end, len(text))
    return start, end


def _same_length_lower(text: str) -> str:
    """``text.lower()``, or (when lower-casing changes the length, e.g. for "İ") a per-character
    lower-casing that keeps every index where it was."""
    lower = text.lower()
    if len(lower) == len(text):
        return lower
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


class Scanner:
    """A compiled set of rules. ``find(text)`` -> merged spans; ``redact(text)`` -> text, kinds.

    Holds no state but the rules (thread-safe); build one per process.
    """

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = list(rules)

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """``[(start, end, kind)]`` of the secrets in ``text``, sorted, not overlapping."""
        lower = _same_length_lower(text)
        found: list[tuple[int, int, int, str]] = []
        for rule in self.rules:
            if not rule.applies(text, lower):
                continue
            for span in rule.find(text, lower):
                start, end = _escape_safe(text, *span)
                if end > start:
                    found.append((start, end, rule.priority, rule.kind))
        if not found:
            return []
        found.sort()
        merged: list[list] = []
        for start, end, priority, kind in found:
            if merged and start < merged[-1][1]:
                last = merged[-1]
                last[1] = max(last[1], end)
                if priority > last[2]:
                    last[2], last[3] = priority, kind
            else:
                merged.append([start, end, priority, kind])
        return [(s, e, k) for s, e, _p, k in merged]

    def redact(self, text: str) -> tuple[str, dict[str, int]]:
        """``(text with every secret replaced by [REDACTED:<kind>], {kind: count})``."""
        spans = self.find(text)
        if not spans:
            return text, {}
        out: list[str] = []
        kinds: dict[str, int] = {}
        at = 0
        for start, end, kind in spans:
            out.append(text[at:start])
            out.append(MARK.format(kind=kind))
            kinds[kind] = kinds.get(kind, 0) + 1
            at = end
        out.append(text[at:])
        return "".join(out), kinds
