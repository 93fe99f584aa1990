"""Gemini CLI (``@google/gemini-cli`` 0.61): its own hook event and tool names.

Config: ``~/.gemini/settings.json`` (``hooks`` member; timeouts in milliseconds; Gemini accepts
``//`` and ``/* */`` comments in it). Events: SessionStart, BeforeAgent (the user's prompt, with
SessionStart's context put in front of it as ``<hook_context>...</hook_context>\\n\\n``),
BeforeTool/AfterTool (tools ``run_shell_command``, ``read_file``, ``glob``, ``grep_search``,
``list_directory``, ``read_many_files``, ``write_file``, ``replace``, ``activate_skill``),
AfterAgent (the whole answer, ``prompt_response``), SessionEnd (best effort: Gemini does not wait).
Per-model events (BeforeModel, BeforeToolSelection, AfterModel: once per streamed chunk),
PreCompress and Notification are never installed. Skills: ``~/.gemini/skills``, used through
``activate_skill{name}`` (the front-matter ``name``). Judge, proposer and summariser run
``gemini -p`` with output as JSON and no tools.
"""

from __future__ import annotations

import os

from .base import Agent

TYPE_CHECKING = False  # typing is not imported at run time (hook start-up time)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from .reports import AgentStatus, InstallReport

#: hook timeouts lakeloop writes into settings.json, milliseconds
TIMEOUTS_MS = {
    "SessionStart": 10000,
    "BeforeAgent": 10000,
    "BeforeTool": 5000,
    "AfterTool": 10000,
    "AfterAgent": 10000,
    "SessionEnd": 5000,
}

#: BeforeTool matcher: only the tools that can touch the memory path or use a skill spawn our hook
BEFORE_TOOL_MATCHER = (
    "^(run_shell_command|read_file|read_many_files|glob|grep_search|list_directory|activate_skill|write_file|replace)$"
)


def gemini_home() -> str:
    """Gemini CLI's user directory: ``$GEMINI_CLI_HOME/.gemini`` when that is set (Gemini's own
    home override), else ``~/.gemini``."""
    home = os.environ.get("GEMINI_CLI_HOME", "").strip()
    return os.path.join(os.path.expanduser(home) if home else os.path.expanduser("~"), ".gemini")


class GeminiCLI(Agent):
    """Gemini CLI (``gemini``)."""

    name = "gemini"
    row_agent = "gemini"
    display = "Gemini CLI"
    events = {
        "SessionStart": "SessionStart",
        "BeforeAgent": "UserPromptSubmit",
        "BeforeTool": "PreToolUse",
        "AfterTool": "PostToolUse",
        "AfterAgent": "Stop",
        "SessionEnd": "SessionEnd",
    }
    ignored_events = frozenset({"BeforeModel", "BeforeToolSelection", "AfterModel", "PreCompress", "Notification"})
    bin_env = "LAKELOOP_GEMINI_BIN"

    def config_file(self) -> str:
        """``~/.gemini/settings.json``."""
        return os.path.join(gemini_home(), "settings.json")

    def skills_dir(self) -> Path:
        """``~/.gemini/skills``."""
        from pathlib import Path

        return Path(gemini_home()) / "skills"

    # capture helper -------------------------------------------------------------------------
    def canonical_payload(self, canonical_event: str, payload: dict[str, Any]) -> dict[str, Any]:
        """See ``Agent.canonical_payload``: prompt without the hook context, the answer as
        ``last_assistant_message``, BeforeTool's tools mapped (``agents.payloads.gemini_payload``)."""
        from .payloads import gemini_payload

        return gemini_payload(canonical_event, payload)

    def pre_tool_output(self, decision: dict[str, Any], native_payload: dict[str, Any]) -> dict[str, Any]:
        """See ``Agent.pre_tool_output``: ``{"decision": "deny", "reason"}``, or an allow on
        ``run_shell_command`` as ``hookSpecificOutput.tool_input`` (``agents.answers.gemini_output``)."""
        from .answers import gemini_output

        return gemini_output(decision, native_payload)

    def session_start_output(self, system_message: str, context: str) -> dict[str, Any]:
        """See ``Agent.session_start_output``: ``hookSpecificOutput.additionalContext`` (for
        the model) and ``systemMessage`` (Gemini writes it to the terminal)."""
        from .answers import session_start

        return session_start("SessionStart", system_message, context)

    # skill-loop helper ------------------------------------------------------------------------
    def skill_text(self, ref: str, body: str) -> str:
        """See ``Agent.skill_text``: the front matter's ``name`` set to ``ref``
        (``lakeloop.agents.targets.named_skill_text``)."""
        from .targets import named_skill_text

        return named_skill_text(ref, body)

    def model_call(self, prompt: str, system: str, role: str, timeout_s: float, env: dict[str, str]) -> str:
        """See ``Agent.model_call``: a tool-less ``gemini -p`` (``lakeloop.agents.calls``) with
        ``LAKELOOP_GEMINI_MODEL`` for every role (empty: the CLI's own model). Raises AgentError
        (no binary: "no agent CLI: set LAKELOOP_GEMINI_BIN ..."), KeyError for a role not in ``ROLES``."""
        from .. import config
        from ..errors import AgentError
        from .base import ROLES
        from .calls import gemini_call

        if role not in ROLES:
            raise KeyError(role)
        binary = self.find_binary()
        if binary is None:
            raise AgentError("no agent CLI: set LAKELOOP_GEMINI_BIN or put gemini on PATH")
        return gemini_call(binary, prompt, system, config.gemini_model(), timeout_s, env)

    # install helper ---------------------------------------------------------------------------
    def find_binary(self) -> str | None:
        """See ``Agent.find_binary``: ``LAKELOOP_GEMINI_BIN``, ``gemini`` on PATH, npm's usual places."""
        from .binary import find, npm_places

        return find(self.bin_env, "gemini", npm_places("gemini"))

    def version(self, binary: str) -> str | None:
        """See ``Agent.version`` (``@google/gemini-cli``'s package.json, else ``gemini --version``)."""
        from .binary import version

        return version(binary, "@google/gemini-cli")

    def install(self, launcher: str) -> InstallReport:
        """See ``Agent.install``: our groups merged into ``settings.json`` (timeouts in ms, names
        ``lakeloop-<Canonical>``; comments kept) by ``lakeloop.agents.gemini_install``. Raises
        InstallRefused (nothing written)."""
        from .gemini_install import install

        matchers = {"BeforeTool": BEFORE_TOOL_MATCHER, "AfterTool": ".*"}
        return install(self, launcher, self.config_file(), TIMEOUTS_MS, matchers)

    def uninstall(self) -> InstallReport:
        """See ``Agent.uninstall`` (``lakeloop.agents.gemini_install``)."""
        from .gemini_install import uninstall

        return uninstall(self, self.config_file())

    def status(self, probe: bool = True) -> AgentStatus:
        """See ``Agent.status``: ``trusted`` is None (Gemini has no hook trust); inactive when
        ``hooksConfig.enabled`` is false."""
        from .gemini_install import status

        return status(self, self.config_file(), probe)
