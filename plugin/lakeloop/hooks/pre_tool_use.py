"""PreToolUse: answer tool calls on the memory path; arm a judgment window when the agent
uses an org skill.

A thin dispatcher. Tool calls on the memory path, and those that would read lakeloop's
credentials file or ``~/.deeplake`` (``lakeloop.memory.paths.guarded``), go to
``lakeloop.memory.answer``, whose decision (allow with a redirected input, or deny with a
reason) is printed as the hook's JSON output, in the shape of the agent that ran the hook
(``Agent.pre_tool_output``; Claude Code's is the decision itself). The payload is the
canonical one (``lakeloop.hooks.main``): another agent's tools arrive under Claude Code's names.
Otherwise, fast path first: a tool call that cannot load a skill returns after one dict lookup,
without touching the store or importing anything more.
"""

from __future__ import annotations

from .. import config

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (hook start-up time)
if TYPE_CHECKING:
    import logging
    from typing import Any

_SKILL_LOADING_TOOLS = frozenset({"Skill", "Read", "View", "read_file", "Bash", "Shell", "shell"})
#: Tools whose calls may touch the memory path (``lakeloop.memory.answer``).
_MEMORY_TOOLS = frozenset({"Read", "Grep", "Glob", "Bash", "Write", "Edit", "MultiEdit", "NotebookEdit"})


def handle(payload: dict[str, Any], log: logging.Logger) -> None:
    """Answer a memory-path tool call (printing the decision), else open (or replace) the
    session's window when the tool call loads an org skill."""
    tool_name = payload.get("tool_name")
    if tool_name in _MEMORY_TOOLS and not config.in_worker():
        from ..memory.answer import dumps
        from ..memory.answer import handle as memory_answer

        out = memory_answer(payload, log)
        if out is not None:
            import sys

            from .main import agent_of

            other = agent_of(payload)
            if other is not None:  # another agent than Claude Code: its own answer shape
                from .. import agents

                out = agents.get(other[0]).pre_tool_output(out, other[1])
            sys.stdout.write(dumps(out) + "\n")
            return
    if tool_name not in _SKILL_LOADING_TOOLS:
        return
    tool_input = payload.get("tool_input")
    if tool_name != "Skill" and not (
        isinstance(tool_input, dict) and any(isinstance(v, str) and "SKILL.md" in v for v in tool_input.values())
    ):
        return
    if config.in_worker():
        return
    from ..skillopt.refs import org_skill, ref_from_tool

    ref = ref_from_tool(str(tool_name), tool_input)
    if ref is None:
        return
    entry = org_skill(ref)
    if entry is None:
        log.debug("not arming: %s is not a pulled org skill", ref[:120])
        return
    session_id = payload.get("session_id")
    if not isinstance(session_id, str) or not session_id:
        log.error("not arming %s: payload has no session_id", ref)
        return
    from ..skillopt import pending
    from .main import agent_of

    other = agent_of(payload)
    row_agent = "claude_code"
    if other is not None:  # another agent than Claude Code (hooks.main loaded lakeloop.agents for it)
        from .. import agents

        row_agent = agents.get(other[0]).row_agent
    window = pending.arm(
        session_id,
        ref,
        str(payload.get("tool_use_id") or ""),
        config.judge_window(),
        entry.get("version"),
        row_agent,
        config.user_name(),
    )
    log.info(
        "armed window skill=%s session=%s budget=%d tool_use_id=%s",
        ref,
        session_id[:64],
        window["budget"],
        window["tool_use_id"][:64],
    )
