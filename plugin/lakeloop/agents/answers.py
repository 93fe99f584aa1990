"""Pure translators of lakeloop's Claude-shaped hook answers into each agent's own stdout object.

``lakeloop.memory.answer`` decides a PreToolUse call on the memory path in Claude Code's shape::

    {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "allow"|"deny",
                            "updatedInput"?: {...}, "permissionDecisionReason"?: "..."}}

* Codex CLI: a deny is that dict; an allow is sent with ``updatedInput`` = ``{"command": C}``
  only (the one rewrite Codex was seen to honour), without a reason.
* Gemini CLI: a deny is ``{"decision": "deny", "reason": R}``; an allow on ``run_shell_command`` is
  ``{"hookSpecificOutput": {"hookEventName": "BeforeTool", "tool_input": {"command": C,
  "is_background": false}}}`` (Gemini merges it with the model's arguments, so a background run
  is turned off explicitly).

Fail closed: an allow the agent cannot express for that tool (no rewritten command, or a Gemini
tool other than its shell) becomes a deny whose reason is the answer itself, read back from the
answer file ``lakeloop.memory.answer`` wrote (only a file inside ``<data dir>/memory-answers``,
at most ``MAX_ANSWER_CHARS`` characters). A decision that is neither allow nor deny is a deny.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing is not imported at run time (hook start-up time)
if TYPE_CHECKING:
    from typing import Any

#: Longest answer text put into a deny reason (characters; ``lakeloop.memory.answer.MAX_BYTES``)
MAX_ANSWER_CHARS = 30_000
#: First line of an answer sent back as a deny reason
ANSWER_HEADING = "Team memory (lakeloop) answered this call:\n"
#: The deny reason when an answer cannot be read back or the decision is not understood
UNREADABLE = "lakeloop could not answer this call on the team memory path; use the shell: grep -rn TERM <path>"


def _decision(decision: dict[str, Any]) -> tuple[str, dict[str, Any] | None, str]:
    """``(permissionDecision, updatedInput or None, reason)`` of a Claude-shaped answer; the
    decision is ``""`` for a shape that is not understood."""
    out = decision.get("hookSpecificOutput") if isinstance(decision, dict) else None
    if not isinstance(out, dict):
        return "", None, ""
    verdict = out.get("permissionDecision")
    updated = out.get("updatedInput")
    reason = out.get("permissionDecisionReason")
    return (
        verdict if verdict in ("allow", "deny") else "",
        updated if isinstance(updated, dict) else None,
        reason if isinstance(reason, str) else "",
    )


def _answer_dir() -> str:
    from ..paths import data_dir

    return os.path.realpath(str(data_dir() / "memory-answers"))


def _answer_path(updated: dict[str, Any]) -> str | None:
    """The answer file an allow redirects to: ``file_path`` (Read), ``path`` (Grep), or the
    file of the ``cat -- '<file>'`` command (Bash); None when there is none."""
    for key in ("file_path", "path"):
        value = updated.get(key)
        if isinstance(value, str) and value:
            return value
    command = updated.get("command")
    if isinstance(command, str) and command.startswith("cat -- "):
        import shlex

        try:
            words = shlex.split(command.split(";", 1)[0])
        except ValueError:
            return None
        return words[2] if len(words) == 3 else None
    return None


def answer_text(updated: dict[str, Any] | None) -> str:
    """The text of the answer an allow's ``updatedInput`` redirects to (read from its answer
    file, cut to ``MAX_ANSWER_CHARS``), ``""`` for an empty answer (a command ``true``), or
    ``UNREADABLE`` when no answer file inside ``<data dir>/memory-answers`` can be read."""
    if updated is None:
        return UNREADABLE
    if updated.get("command") == "true" or str(updated.get("command", "")).startswith("true;"):
        return ""
    path = _answer_path(updated)
    if path is None:
        return UNREADABLE
    real = os.path.realpath(os.path.expanduser(path))
    if not real.startswith(_answer_dir() + os.sep):
        return UNREADABLE
    try:
        with open(real, encoding="utf-8", errors="replace") as fh:
            text = fh.read(MAX_ANSWER_CHARS + 1)
    except OSError:
        return UNREADABLE
    if len(text) > MAX_ANSWER_CHARS:
        text = text[:MAX_ANSWER_CHARS] + "\n[lakeloop: answer cut]"
    return text


def _as_reason(updated: dict[str, Any] | None) -> str:
    text = answer_text(updated)
    return text if text == UNREADABLE else ANSWER_HEADING + (text or "(no output)")


def claude_deny(reason: str) -> dict[str, Any]:
    """Claude Code's (and Codex's) deny object with ``reason``."""
    return {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": reason,
        }
    }


def codex_output(decision: dict[str, Any], native_payload: dict[str, Any]) -> dict[str, Any]:
    """Codex CLI's PreToolUse stdout object for ``decision`` (see the module docstring)."""
    verdict, updated, reason = _decision(decision)
    if verdict == "allow":
        command = updated.get("command") if updated is not None else None
        if isinstance(command, str):
            return {
                "hookSpecificOutput": {
                    "hookEventName": "PreToolUse",
                    "permissionDecision": "allow",
                    "updatedInput": {"command": command},
                }
            }
        return claude_deny(_as_reason(updated))
    return claude_deny(reason or UNREADABLE)


def gemini_output(decision: dict[str, Any], native_payload: dict[str, Any]) -> dict[str, Any]:
    """Gemini CLI's BeforeTool stdout object for ``decision`` on ``native_payload``'s tool (see
    the module docstring)."""
    verdict, updated, reason = _decision(decision)
    if verdict == "allow":
        command = updated.get("command") if updated is not None else None
        if native_payload.get("tool_name") == "run_shell_command" and isinstance(command, str):
            return {
                "hookSpecificOutput": {
                    "hookEventName": "BeforeTool",
                    "tool_input": {"command": command, "is_background": False},
                }
            }
        return {"decision": "deny", "reason": _as_reason(updated)}
    return {"decision": "deny", "reason": reason or UNREADABLE}


def session_start(event_name: str, system_message: str, context: str) -> dict[str, Any]:
    """A SessionStart stdout object: ``systemMessage`` (shown to the user) and
    ``hookSpecificOutput.additionalContext`` (for the model) with ``hookEventName`` =
    ``event_name``, each only when non-empty; ``{}`` when both are empty."""
    out: dict[str, Any] = {}
    if system_message:
        out["systemMessage"] = system_message
    if context:
        out["hookSpecificOutput"] = {"hookEventName": event_name, "additionalContext": context}
    return out
