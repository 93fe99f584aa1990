"""The hook payloads real Claude Code 2.1.330 sent to this plugin (recorded once, shipped in
``plugin/lakeloop/data``), as test inputs.

* ``recorded_payloads()``: every recorded payload (a list of dicts), in the order they were sent.
* ``first_payload(event, tool_name=None)``: a deep copy of the first one of ``event`` (and of that
  tool, for ``PreToolUse``/``PostToolUse``); raises ``LookupError`` when none was recorded.
* ``agent_payloads(agent)``: the payloads Codex CLI 0.169.0 (``"codex"``) or Gemini CLI 0.61.0
  (``"gemini"``) sent to a probe hook (recorded once, paths rewritten, shipped beside Claude
  Code's), in order; ``agent_payload(agent, native_event)`` a copy of the first of that event.
"""

from __future__ import annotations

import copy
import json

from tests.support.repo import PACKAGE_DIR

PAYLOADS_FILE = PACKAGE_DIR / "data" / "claude-code-2.1.330-hook-payloads.jsonl"
#: agent name -> its recorded payloads
AGENT_PAYLOADS_FILES = {
    "codex": PACKAGE_DIR / "data" / "codex-0.169.0-hook-payloads.jsonl",
    "gemini": PACKAGE_DIR / "data" / "gemini-0.61.0-hook-payloads.jsonl",
}


def recorded_payloads() -> list[dict]:
    """The real Claude Code 2.1.330 hook payloads recorded for this plugin, in order."""
    return [json.loads(line) for line in PAYLOADS_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]


def first_payload(event: str, tool_name: str | None = None) -> dict:
    """A copy of the first recorded payload of ``event`` (and ``tool_name`` when given)."""
    for payload in recorded_payloads():
        if payload["hook_event_name"] == event and (tool_name is None or payload.get("tool_name") == tool_name):
            return copy.deepcopy(payload)
    raise LookupError(f"no recorded {event} payload for tool {tool_name}")


def agent_payloads(agent: str) -> list[dict]:
    """The recorded hook payloads of ``agent`` (``"codex"`` or ``"gemini"``), in order."""
    text = AGENT_PAYLOADS_FILES[agent].read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def agent_payload(agent: str, native_event: str) -> dict:
    """A copy of ``agent``'s first recorded payload of ``native_event`` (its own event name)."""
    for payload in agent_payloads(agent):
        if payload["hook_event_name"] == native_event:
            return copy.deepcopy(payload)
    raise LookupError(f"no recorded {agent} {native_event} payload")
