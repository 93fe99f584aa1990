"""lakeloop's Claude-shaped hook answers in each agent's own shape (``lakeloop.agents.answers``).

Rules: Codex's deny is Claude Code's; its allow carries ``updatedInput`` = ``{"command"}`` only.
Gemini's deny is ``{"decision": "deny", "reason"}``; its allow exists only for
``run_shell_command`` (``tool_input`` with ``is_background`` false); an allow on any other tool,
or one without a command, becomes a deny whose reason is the answer text read back from the
answer file, never from a file outside ``<data dir>/memory-answers`` (fail closed). SessionStart:
context for the model, message for the user, each only when non-empty.
"""

from __future__ import annotations

import os

import pytest

from lakeloop import agents, paths
from lakeloop.agents import answers
from lakeloop.memory import answer as memory_answer
from tests.support.payloads import agent_payload


def allow(updated: dict) -> dict:
    return {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "allow",
            "permissionDecisionReason": "answered by lakeloop from team memory",
            "updatedInput": updated,
        }
    }


def deny(reason: str) -> dict:
    return {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": reason,
        }
    }


def answer_file(text: str) -> str:
    return memory_answer.answer_file(text)


def gemini(tool: str = "run_shell_command") -> dict:
    native = agent_payload("gemini", "BeforeTool")
    native["tool_name"] = tool
    return native


def test_the_answer_cap_is_memory_answers_own():
    assert answers.MAX_ANSWER_CHARS == memory_answer.MAX_BYTES


def test_codex_deny_is_claude_codes_and_allow_is_command_only():
    codex = agents.get("codex")
    native = agent_payload("codex", "PreToolUse")
    assert codex.pre_tool_output(deny("no"), native) == deny("no")
    out = codex.pre_tool_output(allow({"command": "cat -- '/x'", "description": "Read team memory"}), native)
    assert out == {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "allow",
            "updatedInput": {"command": "cat -- '/x'"},
        }
    }


def test_codex_allow_without_a_command_fails_closed_with_the_answer_text():
    path = answer_file("line one\nTERM-42\n")
    out = agents.get("codex").pre_tool_output(allow({"file_path": path}), agent_payload("codex", "PreToolUse"))
    hso = out["hookSpecificOutput"]
    assert hso["permissionDecision"] == "deny"
    assert "TERM-42" in hso["permissionDecisionReason"]


def test_gemini_deny_and_shell_allow_shapes():
    g = agents.get("gemini")
    assert g.pre_tool_output(deny("refused"), gemini()) == {"decision": "deny", "reason": "refused"}
    out = g.pre_tool_output(allow({"command": "cat -- '/a'; exit 1", "description": "d"}), gemini())
    assert out == {
        "hookSpecificOutput": {
            "hookEventName": "BeforeTool",
            "tool_input": {"command": "cat -- '/a'; exit 1", "is_background": False},
        }
    }


@pytest.mark.parametrize(
    ("tool", "updated"),
    [
        ("read_file", lambda p: {"file_path": p}),
        ("grep_search", lambda p: {"pattern": "^", "path": p, "output_mode": "content"}),
        ("read_many_files", lambda p: {"command": f"cat -- '{p}'; exit 1"}),
        ("list_directory", lambda p: {"file_path": p}),
    ],
)
def test_gemini_allow_on_another_tool_is_a_deny_with_the_answer_text(tool, updated):
    path = answer_file("notes/a.md:1:REMEMBER-7731\n")
    out = agents.get("gemini").pre_tool_output(allow(updated(path)), gemini(tool))
    assert set(out) == {"decision", "reason"} and out["decision"] == "deny"
    assert out["reason"].startswith(answers.ANSWER_HEADING)
    assert "REMEMBER-7731" in out["reason"]


def test_an_empty_answer_is_said_so():
    out = agents.get("gemini").pre_tool_output(allow({"command": "true"}), gemini("read_many_files"))
    assert out == {"decision": "deny", "reason": answers.ANSWER_HEADING + "(no output)"}


def test_a_long_answer_is_cut():
    path = answer_file("x" * (answers.MAX_ANSWER_CHARS + 500))
    out = agents.get("gemini").pre_tool_output(allow({"file_path": path}), gemini("read_file"))
    assert len(out["reason"]) < answers.MAX_ANSWER_CHARS + 200
    assert out["reason"].endswith("[lakeloop: answer cut]")


def test_a_file_outside_the_answer_dir_is_never_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-DO-NOT-SHOW")
    link = paths.data_dir() / "memory-answers" / "link"
    os.makedirs(link.parent, exist_ok=True)
    os.symlink(secret, link)
    for target in (str(secret), str(link), str(paths.data_dir() / "memory-answers" / ".." / "x")):
        out = agents.get("gemini").pre_tool_output(allow({"file_path": target}), gemini("read_file"))
        assert out == {"decision": "deny", "reason": answers.UNREADABLE}
    out = agents.get("codex").pre_tool_output(allow({"path": str(secret)}), {})
    assert "SECRET" not in str(out) and out["hookSpecificOutput"]["permissionDecision"] == "deny"


@pytest.mark.parametrize(
    "decision", [{}, {"hookSpecificOutput": "x"}, {"hookSpecificOutput": {"permissionDecision": "ask"}}, allow("no")]
)
def test_a_decision_not_understood_is_a_deny(decision):
    assert agents.get("gemini").pre_tool_output(decision, gemini())["decision"] == "deny"
    assert agents.get("codex").pre_tool_output(decision, {})["hookSpecificOutput"]["permissionDecision"] == "deny"


@pytest.mark.parametrize("name", ["claude", "codex", "gemini"])
def test_session_start_output(name):
    a = agents.get(name)
    assert a.session_start_output("", "") == {}
    assert a.session_start_output("hi", "") == {"systemMessage": "hi"}
    assert a.session_start_output("", "ctx") == {
        "hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": "ctx"}
    }
