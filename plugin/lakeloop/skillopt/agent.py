"""Claude Code's binary and its tool-less model call, kept under their old names.

The model calls now live with the agents (``lakeloop.agents.calls``; each agent's
``Agent.model_call``): the judge, proposer and summariser run through the agent whose session
the job came from. ``find_claude`` and ``claude_call`` stay for the commands that ask for Claude
Code by name (``lakeloop demo``, ``doctor``, ``status``, ``install``).
"""

from __future__ import annotations

from .. import config
from ..errors import AgentError


def find_claude() -> str | None:
    """Path of the Claude Code binary (``LAKELOOP_CLAUDE_BIN``, else ``claude`` on PATH, else the
    usual install locations), or None when none is installed."""
    from ..agents import get

    return get("claude").find_binary()


def claude_call(prompt: str, system: str, model: str, timeout_s: float | None = None) -> str:
    """One tool-less ``claude -p`` turn with ``model``; returns the ``result`` text (see
    ``lakeloop.agents.calls.claude_call``), run with ``detach.worker_env()``.

    ``timeout_s`` defaults to ``LAKELOOP_AGENT_TIMEOUT_S`` (seconds).
    Raises AgentError when the binary is missing, times out, exits non-zero or
    prints no JSON result. Error messages hold at most 200 characters of output.
    """
    from ..agents.calls import claude_call as call
    from ..detach import worker_env

    binary = find_claude()
    if binary is None:
        raise AgentError("no agent CLI: set LAKELOOP_CLAUDE_BIN or put claude on PATH")
    return call(binary, prompt, system, model, timeout_s or config.agent_timeout_s(), worker_env())
