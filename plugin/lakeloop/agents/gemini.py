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

from .base import Agent, InstallReport

TYPE_CHECKING = False  # typing is not imported at run time (hook start-up time)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from .base import AgentStatus

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
    """``~/.gemini`` (Gemini CLI's user directory)."""
    return os.path.join(os.path.expanduser("~"), ".gemini")


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
        """See ``Agent.model_call``: ``gemini -p`` (skill-loop helper)."""
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
