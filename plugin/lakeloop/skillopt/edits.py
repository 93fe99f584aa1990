"""Applying structured edits to a SKILL.md body, respecting the protected region.

Text between ``<!-- SLOW_UPDATE_START -->`` and ``<!-- SLOW_UPDATE_END -->``
(markers included; to the end of the body when the end marker is missing) is
protected, in every such region: an edit whose target overlaps one is skipped,
an edit whose text contains a marker is skipped, and ``append`` lands just above
the first start marker. A target must occur exactly once (overlapping
occurrences count) or the edit is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .parse import Edit

START = "<!-- SLOW_UPDATE_START -->"
END = "<!-- SLOW_UPDATE_END -->"


@dataclass
class Applied:
    """Result of ``apply_edits``: the new body, the edits applied, the skipped ones with reasons."""

    body: str
    applied: list[Edit] = field(default_factory=list)
    skipped: list[tuple[Edit, str]] = field(default_factory=list)


def protected_spans(body: str) -> list[tuple[int, int]]:
    """``(start, end)`` character offsets of every protected region, in order."""
    spans: list[tuple[int, int]] = []
    pos = 0
    while (start := body.find(START, pos)) >= 0:
        end = body.find(END, start)
        spans.append((start, len(body)) if end < 0 else (start, end + len(END)))
        pos = spans[-1][1]
    return spans


def protected_span(body: str) -> tuple[int, int] | None:
    """``(start, end)`` character offsets of the first protected region, or None."""
    spans = protected_spans(body)
    return spans[0] if spans else None


def _occurrences(body: str, target: str) -> int:
    """How many times ``target`` occurs in ``body``, overlapping occurrences included."""
    count, at = 0, body.find(target)
    while at >= 0:
        count += 1
        at = body.find(target, at + 1)
    return count


def _apply_one(body: str, edit: Edit) -> tuple[str | None, str]:
    if START in edit.text or END in edit.text:
        return None, "text contains a protected-region marker"
    spans = protected_spans(body)
    span = spans[0] if spans else None
    if edit.op == "append":
        addition = edit.text.strip("\n")
        if span:
            head = body[: span[0]].rstrip("\n")
            return f"{head}\n\n{addition}\n\n{body[span[0] :]}", ""
        return f"{body.rstrip(chr(10))}\n\n{addition}\n", ""
    count = _occurrences(body, edit.target)  # "abab" is twice in "ababab": not an exact anchor
    if count != 1:
        return None, "target not found" if count == 0 else f"target is ambiguous ({count} matches)"
    at = body.find(edit.target)
    stop = at + len(edit.target)
    if any(at < end and stop > start for start, end in spans):
        return None, "target overlaps the protected region"
    if edit.op == "insert_after":
        return body[:stop] + "\n" + edit.text.strip("\n") + body[stop:], ""
    if edit.op == "replace":
        return body[:at] + edit.text + body[stop:], ""
    return body[:at] + body[stop:], ""  # delete


def apply_edits(body: str, edits: list[Edit]) -> Applied:
    """Apply ``edits`` in order to ``body`` (each against the result of the previous)."""
    result = Applied(body)
    for edit in edits:
        new_body, reason = _apply_one(result.body, edit)
        if new_body is None:
            result.skipped.append((edit, reason))
        else:
            result.body = new_body
            result.applied.append(edit)
    return result
