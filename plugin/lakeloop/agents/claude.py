"""Claude Code: the canonical vocabulary is Claude Code's own, so normalisation is the identity.

Hooks come from the plugin's ``hooks/hooks.json`` (``lakeloop install claude`` copies the plugin
and registers it through Claude Code's marketplace); rows carry ``agent`` = ``claude_code``.
"""

from __future__ import annotations

from .base import Agent

TYPE_CHECKING = False  # typing is not imported at run time (hook start-up time)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from .reports import AgentStatus, InstallReport


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
        """See ``Agent.model_call``: ``claude -p --tools ""`` (``lakeloop.agents.calls``) with
        ``LAKELOOP_JUDGE_MODEL`` / ``LAKELOOP_PROPOSER_MODEL`` / ``LAKELOOP_SUMMARY_MODEL`` by
        ``role``. Raises AgentError (no binary: "no agent CLI: set LAKELOOP_CLAUDE_BIN ..."),
        KeyError for a role not in ``ROLES``."""
        from .. import config
        from ..errors import AgentError
        from .calls import claude_call

        models = {"judge": config.judge_model, "proposer": config.proposer_model, "summary": config.summary_model}
        model = models[role]()
        binary = self.find_binary()
        if binary is None:
            raise AgentError("no agent CLI: set LAKELOOP_CLAUDE_BIN or put claude on PATH")
        return claude_call(binary, prompt, system, model, timeout_s, env)

    def find_binary(self) -> str | None:
        """See ``Agent.find_binary``: ``LAKELOOP_CLAUDE_BIN``, ``claude`` on PATH, then Claude
        Code's usual install places (``USUAL``)."""
        from .binary import find

        return find(self.bin_env, "claude", USUAL)

    def version(self, binary: str) -> str | None:
        """See ``Agent.version`` (``claude --version``: ``2.1.330 (Claude Code)``)."""
        from .binary import version

        return version(binary)

    def install(self, launcher: str) -> InstallReport:
        """Not used: Claude Code's install is the plugin copy and marketplace flow of
        ``lakeloop.cli.install`` (``install_claude``), which drives Claude Code's own CLI (an entry
        point's business, above this layer). Raises NotImplementedError."""
        raise NotImplementedError("lakeloop.cli.install.install_claude installs Claude Code")

    def uninstall(self) -> InstallReport:
        """Not used: ``lakeloop.cli.uninstall`` removes the plugin through Claude Code's CLI.
        Raises NotImplementedError."""
        raise NotImplementedError("lakeloop.cli.uninstall removes Claude Code's plugin")

    def status(self, probe: bool = True) -> AgentStatus:
        """See ``Agent.status``. ``installed``: with ``probe``, ``claude plugin list --json`` lists
        ``lakeloop@lakeloop`` (bounded to ``LIST_TIMEOUT_S``); without (or when that fails), the
        plugin copy ``lakeloop install claude`` writes is there. ``trusted`` is None (Claude Code
        has no hook trust); ``config`` is the plugin copy's directory."""
        import os

        from .hookcopy import STAMP, plugin_copy_dir
        from .reports import AgentStatus

        binary = self.find_binary()
        copy = plugin_copy_dir()
        out = AgentStatus(
            agent=self.name,
            path=binary,
            version=self.version(binary) if binary else None,
            installed=os.path.isfile(copy / "hooks" / STAMP),
            trusted=None,
            active=False,
            config=str(copy),
            skills_dir=str(self.skills_dir()),
        )
        if binary is None:
            out.problems.append(f"claude not found (PATH, {self.bin_env})")
        elif probe:
            listed = _plugin_listed(binary)
            if listed is None:
                out.problems.append("`claude plugin list --json` failed (installed: the plugin copy checked)")
            else:
                out.installed = listed
        out.active = out.installed
        return out


#: Claude Code's usual install places, after ``LAKELOOP_CLAUDE_BIN`` and PATH
USUAL = (
    "~/.claude/local/claude",
    "~/.local/bin/claude",
    "~/.npm-global/bin/claude",
    "/usr/local/bin/claude",
    "/opt/homebrew/bin/claude",
)
#: bound of ``claude plugin list --json``, seconds
LIST_TIMEOUT_S = 30.0


def _plugin_listed(binary: str) -> bool | None:
    """Whether ``claude plugin list --json`` lists ``lakeloop@lakeloop``; None when it fails."""
    import json
    import subprocess

    try:
        proc = subprocess.run(
            [binary, "plugin", "list", "--json"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=LIST_TIMEOUT_S,
        )
        listed = json.loads(proc.stdout) if proc.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    if not isinstance(listed, list):
        return None
    return any(isinstance(p, dict) and p.get("id") == "lakeloop@lakeloop" for p in listed)
