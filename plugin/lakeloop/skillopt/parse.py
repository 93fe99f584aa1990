"""Conservative parsing of the judge's and proposer's replies.

A flaky judge must never manufacture a failure: anything that is not a clear
``{"success": 0, ...}`` reads as success. A proposer reply that is not clear
JSON yields no edits.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

#: Edit operations the proposer may use (docs/skill-loop.md, step 5).
OPS = ("append", "insert_after", "replace", "delete")
#: At most this many edits are applied per proposal.
MAX_EDITS = 3

_FENCE = re.compile(r"^```[a-zA-Z0-9]*\s*\n(.*?)\n?```\s*$", re.S)


def extract_json(text: Any) -> Any:
    """The JSON value in a model reply: the whole text, a fenced block, or the span
    from the first ``{`` to the last ``}``. None when nothing parses."""
    if not isinstance(text, str):
        return None
    candidate = text.strip()
    fence = _FENCE.match(candidate)
    if fence:
        candidate = fence.group(1).strip()
    for attempt in (candidate, candidate[candidate.find("{") : candidate.rfind("}") + 1]):
        if not attempt:
            continue
        try:
            return json.loads(attempt)
        except ValueError:
            continue
    return None


@dataclass(frozen=True)
class Verdict:
    """The judge's verdict. ``success`` False only on a clear failure. ``label`` is what the
    outcome row records: ``failure`` (a clear failure), ``success`` (a parsed success), ``unclear``
    (a low-confidence failure, an unparseable or empty reply); the improvement reads only
    ``success``."""

    success: bool
    confidence: float
    reason: str
    parsed: bool
    label: str = ""


def parse_verdict(text: Any, min_confidence: float = 0.5) -> Verdict:
    """Read ``{"success": 0|1, "confidence": 0..1, "reason": "..."}``.

    Failure requires ``success`` to be 0 (or false) and ``confidence`` (default
    1.0 when absent) at least ``min_confidence``; everything else, including
    unparseable or empty text, is success with ``parsed`` telling which.
    """
    obj = extract_json(text)
    if not isinstance(obj, dict) or "success" not in obj:
        return Verdict(True, 0.0, "unparseable judgment (counted as success)", False, "unclear")
    raw = obj.get("success")
    try:
        confidence = float(obj.get("confidence", 1.0))
    except (TypeError, ValueError):
        confidence = 0.0
    confidence = min(1.0, max(0.0, confidence))
    reason = str(obj.get("reason", ""))[:2000]
    failed = raw in (0, False, "0", "false", "False")
    if isinstance(raw, float) and raw == 0.0:
        failed = True
    if failed and confidence >= min_confidence:
        return Verdict(False, confidence, reason, True, "failure")
    if failed:
        return Verdict(
            True, confidence, f"low-confidence failure ({confidence:.2f}) counted as success: {reason}", True, "unclear"
        )
    return Verdict(True, confidence, reason, True, "success")


@dataclass(frozen=True)
class Edit:
    """One structured edit to a SKILL.md body.

    ``append`` needs ``text``; ``insert_after`` and ``replace`` need an exact
    ``target`` and ``text``; ``delete`` needs ``target``.
    """

    op: str
    target: str = ""
    text: str = ""

    def as_dict(self) -> dict[str, str]:
        """JSON-ready form (canonical key order)."""
        return {"op": self.op, "target": self.target, "text": self.text}


def parse_edits(text: Any) -> tuple[list[Edit], list[str]]:
    """Edits from ``{"edits": [...]}`` (or a bare list). Returns ``(edits, problems)``:
    malformed entries are dropped with a reason; at most ``MAX_EDITS`` are kept."""
    obj = extract_json(text)
    items = obj.get("edits") if isinstance(obj, dict) else obj
    if not isinstance(items, list):
        return [], ["no edits list in the proposer's reply"]
    edits: list[Edit] = []
    problems: list[str] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(f"edit {i}: not an object")
            continue
        op = item.get("op")
        target = item.get("target", "")
        body = item.get("text", "")
        if op not in OPS or not isinstance(target, str) or not isinstance(body, str):
            problems.append(f"edit {i}: bad op or fields")
            continue
        if op in ("insert_after", "replace", "delete") and not target:
            problems.append(f"edit {i}: {op} needs a target")
            continue
        if op in ("append", "insert_after", "replace") and not body.strip():
            problems.append(f"edit {i}: {op} needs text")
            continue
        edits.append(Edit(op, target if op != "append" else "", body if op != "delete" else ""))
    if len(edits) > MAX_EDITS:
        problems.append(f"{len(edits) - MAX_EDITS} edits beyond the first {MAX_EDITS} ignored")
        edits = edits[:MAX_EDITS]
    return edits, problems
