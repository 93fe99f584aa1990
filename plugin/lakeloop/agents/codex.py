"""Codex CLI (``@openai/codex`` 0.169): hook events named as Claude Code names them.

Config: ``$CODEX_HOME/hooks.json`` (``CODEX_HOME`` defaults to ``~/.codex``) with absolute
commands (Codex sets no plugin root), each hook recorded as trusted in ``$CODEX_HOME/config.toml``
(``hooks.state."<key>".trusted_hash``): Codex skips an untrusted hook silently. Its shell tool
reaches PreToolUse as ``Bash{command}``; ``tool_response`` is a plain string. Skills are pulled
into ``$CODEX_HOME/skills`` and used by the model reading ``SKILL.md`` with its shell.
Judge, proposer and summariser run ``codex exec`` with hooks, shell and every other tool off.
"""

from __future__ import annotations

import os

from .base import Agent, InstallReport

TYPE_CHECKING = False  # typing is not imported at run time (hook start-up time)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from .base import AgentStatus

#: hook timeouts lakeloop writes into hooks.json, seconds (Codex's SessionEnd default is 1 s)
TIMEOUTS_S = {
    "SessionStart": 10,
    "UserPromptSubmit": 10,
    "PreToolUse": 5,
    "PostToolUse": 10,
    "Stop": 10,
    "SessionEnd": 5,
}


def codex_home() -> str:
    """``$CODEX_HOME`` when set (expanded), else ``~/.codex``."""
    home = os.environ.get("CODEX_HOME", "").strip()
    return os.path.expanduser(home) if home else os.path.join(os.path.expanduser("~"), ".codex")


class CodexCLI(Agent):
    """Codex CLI (``codex``)."""

    name = "codex"
    row_agent = "codex"
    display = "Codex CLI"
    events = {
        "SessionStart": "SessionStart",
        "UserPromptSubmit": "UserPromptSubmit",
        "PreToolUse": "PreToolUse",
        "PostToolUse": "PostToolUse",
        "Stop": "Stop",
        "SessionEnd": "SessionEnd",
    }
    ignored_events = frozenset(
        {"PermissionRequest", "PreCompact", "PostCompact", "SubagentStart", "SubagentStop", "Interrupt"}
    )
    bin_env = "LAKELOOP_CODEX_BIN"

    def config_file(self) -> str:
        """``$CODEX_HOME/hooks.json``."""
        return os.path.join(codex_home(), "hooks.json")

    def trust_file(self) -> str:
        """``$CODEX_HOME/config.toml`` (where Codex records trusted hook hashes)."""
        return os.path.join(codex_home(), "config.toml")

    def skills_dir(self) -> Path:
        """``$CODEX_HOME/skills``."""
        from pathlib import Path

        return Path(codex_home()) / "skills"

    # capture helper -------------------------------------------------------------------------
    def canonical_payload(self, canonical_event: str, payload: dict[str, Any]) -> dict[str, Any]:
        """See ``Agent.canonical_payload`` (capture helper)."""
        raise NotImplementedError("capture helper")

    def pre_tool_output(self, decision: dict[str, Any], native_payload: dict[str, Any]) -> dict[str, Any]:
        """See ``Agent.pre_tool_output`` (capture helper)."""
        raise NotImplementedError("capture helper")

    def session_start_output(self, system_message: str, context: str) -> dict[str, Any]:
        """See ``Agent.session_start_output`` (capture helper)."""
        raise NotImplementedError("capture helper")

    # skill-loop helper ------------------------------------------------------------------------
    def skill_text(self, ref: str, body: str) -> str:
        """See ``Agent.skill_text`` (skill-loop helper)."""
        raise NotImplementedError("skill-loop helper")

    def model_call(self, prompt: str, system: str, role: str, timeout_s: float, env: dict[str, str]) -> str:
        """See ``Agent.model_call``: ``codex exec`` (skill-loop helper)."""
        raise NotImplementedError("skill-loop helper")

    # install helper ---------------------------------------------------------------------------
    def find_binary(self) -> str | None:
        """See ``Agent.find_binary`` (install helper)."""
        raise NotImplementedError("install helper")

    def version(self, binary: str) -> str | None:
        """See ``Agent.version`` (install helper)."""
        raise NotImplementedError("install helper")

    def install(self, launcher: str) -> InstallReport:
        """See ``Agent.install`` (install helper)."""
        raise NotImplementedError("install helper")

    def uninstall(self) -> InstallReport:
        """See ``Agent.uninstall`` (install helper)."""
        raise NotImplementedError("install helper")

    def status(self) -> AgentStatus:
        """See ``Agent.status`` (install helper)."""
        raise NotImplementedError("install helper")
