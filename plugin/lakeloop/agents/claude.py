"""Claude Code: the canonical vocabulary is Claude Code's own, so normalisation is the identity.

Hooks come from the plugin's ``hooks/hooks.json`` (``lakeloop install claude`` copies the plugin
and registers it through Claude Code's marketplace); rows carry ``agent`` = ``claude_code``.
"""

from __future__ import annotations

from .base import Agent, InstallReport

TYPE_CHECKING = False  # typing is not imported at run time (hook start-up time)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from .base import AgentStatus


class ClaudeCode(Agent):
    """Claude Code (``claude``). Events and tools are the canonical ones."""

    name = "claude"
    row_agent = "claude_code"
    display = "Claude Code"
    events = {
        "SessionStart": "SessionStart",
        "UserPromptSubmit": "UserPromptSubmit",
        "PreToolUse": "PreToolUse",
        "PostToolUse": "PostToolUse",
        "Stop": "Stop",
        "SubagentStop": "SubagentStop",
        "SessionEnd": "SessionEnd",
    }
    bin_env = "LAKELOOP_CLAUDE_BIN"

    def native_event(self, canonical: str) -> str:
        """Claude Code's names are the canonical ones."""
        return canonical

    def canonical_payload(self, canonical_event: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The payload itself (already canonical)."""
        return payload

    def pre_tool_output(self, decision: dict[str, Any], native_payload: dict[str, Any]) -> dict[str, Any]:
        """The decision itself (it is Claude Code's shape)."""
        return decision

    def session_start_output(self, system_message: str, context: str) -> dict[str, Any]:
        """``{"systemMessage": ..., "hookSpecificOutput": {"hookEventName": "SessionStart",
        "additionalContext": ...}}``, each part only when non-empty."""
        out: dict[str, Any] = {}
        if system_message:
            out["systemMessage"] = system_message
        if context:
            out["hookSpecificOutput"] = {"hookEventName": "SessionStart", "additionalContext": context}
        return out

    def skills_dir(self) -> Path:
        """``lakeloop.paths.skills_root()`` (``LAKELOOP_SKILLS_DIR``, else ``~/.claude/skills``)."""
        from ..paths import skills_root

        return skills_root()

    def skill_text(self, ref: str, body: str) -> str:
        """``body`` unchanged: Claude Code finds skills by folder."""
        return body

    # model_call, find_binary, version: skill-loop and install helpers fill these in.
    def model_call(self, prompt: str, system: str, role: str, timeout_s: float, env: dict[str, str]) -> str:
        """See ``Agent.model_call``: ``claude -p`` (skill-loop helper)."""
        raise NotImplementedError("skill-loop helper: claude -p call")

    def find_binary(self) -> str | None:
        """See ``Agent.find_binary`` (install helper)."""
        raise NotImplementedError("install helper")

    def version(self, binary: str) -> str | None:
        """See ``Agent.version`` (install helper)."""
        raise NotImplementedError("install helper")

    def install(self, launcher: str) -> InstallReport:
        """See ``Agent.install``: the plugin copy and marketplace flow (install helper)."""
        raise NotImplementedError("install helper")

    def uninstall(self) -> InstallReport:
        """See ``Agent.uninstall`` (install helper)."""
        raise NotImplementedError("install helper")

    def status(self) -> AgentStatus:
        """See ``Agent.status`` (install helper)."""
        raise NotImplementedError("install helper")
