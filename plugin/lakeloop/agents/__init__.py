"""The coding agents lakeloop serves, one module each behind ``lakeloop.agents.base.Agent``.

``get("codex")`` returns the Codex CLI agent; ``by_row_agent("claude_code")`` the agent whose rows
carry that ``agent`` value. Modules load lazily (hook processes import only the one they need).
A fourth agent is one new module plus one entry in ``NAMES``.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time (hook start-up time)
if TYPE_CHECKING:
    from .base import Agent

#: agent name -> (module, class name), in the order ``lakeloop agents`` lists them
NAMES: dict[str, tuple[str, str]] = {
    "claude": ("claude", "ClaudeCode"),
    "codex": ("codex", "CodexCLI"),
    "gemini": ("gemini", "GeminiCLI"),
}

#: the default agent: Claude Code's hooks pass no agent argument
DEFAULT = "claude"

_LOADED: dict[str, Agent] = {}


def get(name: str) -> Agent:
    """The agent called ``name`` (one of ``NAMES``). Raises KeyError for an unknown name."""
    agent = _LOADED.get(name)
    if agent is None:
        module_name, class_name = NAMES[name]
        from importlib import import_module

        module = import_module(f"{__name__}.{module_name}")
        agent = _LOADED[name] = getattr(module, class_name)()
    return agent


def by_row_agent(value: str | None) -> Agent:
    """The agent whose rows carry ``agent`` = ``value`` (``"claude_code"``, ``"codex"``,
    ``"gemini"``); Claude Code for None, empty or unknown values (rows written before agents
    were recorded are Claude Code's)."""
    for name in NAMES:
        agent = get(name)
        if agent.row_agent == value:
            return agent
    return get(DEFAULT)


def all_agents() -> list[Agent]:
    """Every known agent, in ``NAMES`` order."""
    return [get(name) for name in NAMES]
