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

from .base import Agent

TYPE_CHECKING = False  # typing is not imported at run time (hook start-up time)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from .reports import AgentStatus, InstallReport

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
        """See ``Agent.canonical_payload``: a copy without ``turn_id`` and ``model``
        (``agents.payloads.codex_payload``)."""
        from .payloads import codex_payload

        return codex_payload(canonical_event, payload)

    def pre_tool_output(self, decision: dict[str, Any], native_payload: dict[str, Any]) -> dict[str, Any]:
        """See ``Agent.pre_tool_output``: a deny as Claude Code's; an allow as
        ``updatedInput: {"command": C}`` only (``agents.answers.codex_output``)."""
        from .answers import codex_output

        return codex_output(decision, native_payload)

    def session_start_output(self, system_message: str, context: str) -> dict[str, Any]:
        """See ``Agent.session_start_output``: Claude Code's shape. Codex 0.169 takes
        ``additionalContext`` to the model as a developer message and accepts ``systemMessage``
        beside it (the context still arrives; ``codex exec`` does not print the message)."""
        from .answers import session_start

        return session_start("SessionStart", system_message, context)

    # skill-loop helper ------------------------------------------------------------------------
    def skill_text(self, ref: str, body: str) -> str:
        """See ``Agent.skill_text``: the front matter's ``name`` set to ``ref``, cut to the 64
        characters Codex 0.169 accepts (a longer name makes it skip the skill; the skill's use is
        found by its path, ``skills/<ref>/SKILL.md``, not by its name), and a ``description``
        when it has none (``lakeloop.agents.targets.named_skill_text``)."""
        from .targets import named_skill_text

        return named_skill_text(ref, body, max_name=64)

    def model_call(self, prompt: str, system: str, role: str, timeout_s: float, env: dict[str, str]) -> str:
        """See ``Agent.model_call``: a tool-less ``codex exec`` (``lakeloop.agents.calls``) with
        ``LAKELOOP_CODEX_MODEL`` for every role (empty: the CLI's own model). Raises AgentError
        (no binary: "no agent CLI: set LAKELOOP_CODEX_BIN ..."), KeyError for a role not in ``ROLES``."""
        from .. import config
        from ..errors import AgentError
        from .base import ROLES
        from .calls import codex_call

        if role not in ROLES:
            raise KeyError(role)
        binary = self.find_binary()
        if binary is None:
            raise AgentError("no agent CLI: set LAKELOOP_CODEX_BIN or put codex on PATH")
        return codex_call(binary, prompt, system, config.codex_model(), timeout_s, env)

    # install helper ---------------------------------------------------------------------------
    def find_binary(self) -> str | None:
        """See ``Agent.find_binary``: ``LAKELOOP_CODEX_BIN``, ``codex`` on PATH, npm's usual places."""
        from .binary import find, npm_places

        return find(self.bin_env, "codex", npm_places("codex"))

    def version(self, binary: str) -> str | None:
        """See ``Agent.version`` (``@openai/codex``'s package.json, else ``codex --version``)."""
        from .binary import version

        return version(binary, "@openai/codex")

    def install(self, launcher: str) -> InstallReport:
        """See ``Agent.install``: our groups appended to ``$CODEX_HOME/hooks.json`` (``~/.codex``,
        created 0700, when CODEX_HOME is unset), then trusted through ``codex app-server``
        (``lakeloop.agents.codex_install``). When ``launcher`` is the agents' launcher copy
        (``hookcopy.agent_launcher()``) the copy is written first, after the files were validated.
        Raises InstallRefused (nothing written), InstallError (Codex did not record the trust)."""
        from .codex_install import install

        return install(self, launcher, codex_home(), TIMEOUTS_S)

    def uninstall(self) -> InstallReport:
        """See ``Agent.uninstall``: our groups and trust entries removed, the trust of others'
        hooks that moved up re-recorded (``lakeloop.agents.codex_install``)."""
        from .codex_install import uninstall

        return uninstall(self, codex_home())

    def status(self, probe: bool = True) -> AgentStatus:
        """See ``Agent.status``: ``trusted`` from ``codex app-server`` when ``probe``, else from the
        local hash and ``config.toml``."""
        from .codex_install import status

        return status(self, codex_home(), probe)
