"""Codex CLI's and Gemini CLI's hook payloads made canonical (``lakeloop.agents.payloads``), on the
payloads the pinned CLIs really sent (``plugin/lakeloop/data/{codex,gemini}-*-hook-payloads.jsonl``).

Rules: Codex's payloads are Claude Code's minus ``turn_id``/``model``; Gemini's prompt loses the
``<hook_context>`` prefix Gemini puts in front of it (and nothing else), its answer becomes
``last_assistant_message``, its tools become canonical ones in PreToolUse only, and AfterTool
keeps the native tool; no normaliser raises on any JSON object or changes its input.
"""

from __future__ import annotations

import copy
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakeloop import agents
from lakeloop.agents.payloads import UNREADABLE_PATH, gemini_tool, resolve, strip_hook_context
from tests.support.payloads import agent_payload, agent_payloads

CONTEXT = "Team memory (lakeloop) is a read-only file tree at /home/dev/.deeplake/memory : &lt;b&gt;"


def canonical(agent: str, native_event: str, payload: dict | None = None) -> dict:
    a = agents.get(agent)
    native = payload if payload is not None else agent_payload(agent, native_event)
    return a.canonical_payload(a.events[native_event], native)


def test_recorded_payloads_cover_every_installed_event():
    for name in ("codex", "gemini"):
        seen = {p["hook_event_name"] for p in agent_payloads(name)}
        assert set(agents.get(name).events) <= seen, name
    assert {"AfterModel", "BeforeModel"} <= {p["hook_event_name"] for p in agent_payloads("gemini")}


def test_codex_payload_is_claude_shaped_without_turn_id_and_model():
    for native in agent_payloads("codex"):
        out = canonical("codex", native["hook_event_name"], copy.deepcopy(native))
        assert "turn_id" not in out and "model" not in out
        assert out == {k: v for k, v in native.items() if k not in ("turn_id", "model")}
    post = canonical("codex", "PostToolUse")
    assert post["tool_name"] == "Bash" and post["tool_response"] == "TOOL-OUTPUT-123\n"


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        (f"<hook_context>{CONTEXT}</hook_context>\n\nrun the probe", "run the probe"),
        (f"<hook_context>{CONTEXT}</hook_context>\n\n</hook_context> typed", "</hook_context> typed"),
        (f"<hook_context>{CONTEXT}</hook_context>no gap", "no gap"),
        (f"<hook_context>{CONTEXT}</hook_context>\n\n\n\ntwo gaps", "\n\ntwo gaps"),
        ("run the probe", "run the probe"),
        ("<hook_context> never closed", "<hook_context> never closed"),
        (" <hook_context>x</hook_context>\n\nlead space", " <hook_context>x</hook_context>\n\nlead space"),
        ("say <hook_context>x</hook_context>\n\n", "say <hook_context>x</hook_context>\n\n"),
    ],
)
def test_gemini_prompt_loses_only_the_hook_context_prefix(prompt, expected):
    assert strip_hook_context(prompt) == expected
    payload = agent_payload("gemini", "BeforeAgent")
    payload["prompt"] = prompt
    assert canonical("gemini", "BeforeAgent", payload)["prompt"] == expected


def test_gemini_after_agent_answer_is_the_last_assistant_message():
    out = canonical("gemini", "AfterAgent")
    assert out["last_assistant_message"] == "GEMINI-STANDIN-OK"
    assert "prompt" not in out and "prompt_response" not in out


def test_gemini_after_tool_keeps_the_native_tool_and_whole_response():
    native = agent_payload("gemini", "AfterTool")
    out = canonical("gemini", "AfterTool", copy.deepcopy(native))
    assert out["tool_name"] == "run_shell_command"
    assert out["tool_input"] == native["tool_input"]
    assert out["tool_response"] == native["tool_response"]


def test_gemini_before_tool_shell_is_bash_with_dir_path_as_cwd():
    native = agent_payload("gemini", "BeforeTool")
    out = canonical("gemini", "BeforeTool", copy.deepcopy(native))
    assert out["tool_name"] == "Bash"
    assert out["tool_input"] == {"command": native["tool_input"]["command"]}
    assert out["cwd"] == native["cwd"]
    native["tool_input"]["dir_path"] = "sub"
    assert canonical("gemini", "BeforeTool", native)["cwd"] == native["cwd"] + "/sub"
    native["tool_input"]["dir_path"] = "/abs/dir"
    assert canonical("gemini", "BeforeTool", native)["cwd"] == "/abs/dir"
    native["tool_input"]["dir_path"] = "sub/../../x//y/."
    assert canonical("gemini", "BeforeTool", native)["cwd"] == os.path.dirname(native["cwd"]) + "/x/y"
    for falsy in ("", 0, False, None):  # JavaScript-falsy: the tool runs in the workspace
        native["tool_input"]["dir_path"] = falsy
        assert canonical("gemini", "BeforeTool", native)["cwd"] == native["cwd"]


@pytest.mark.parametrize(
    ("tool", "tool_input", "name", "expected"),
    [
        (
            "read_file",
            {"file_path": "/m/a.md", "start_line": 3, "end_line": 7},
            "Read",
            {"file_path": "/m/a.md", "offset": 3, "limit": 5},
        ),
        ("read_file", {"file_path": "/m/a.md"}, "Read", {"file_path": "/m/a.md"}),
        ("list_directory", {"dir_path": "/m"}, "Read", {"file_path": "/m"}),
        ("list_directory", {"dir_path": "rel"}, "Read", {"file_path": "/w/rel"}),
        ("glob", {"pattern": "**/*.md", "dir_path": "/m"}, "Glob", {"pattern": "**/*.md", "path": "/m"}),
        ("glob", {"pattern": "*.md"}, "Glob", {"pattern": "*.md"}),
        (
            "grep_search",
            {
                "pattern": "a.b",
                "dir_path": "/m",
                "include_pattern": "*.md",
                "fixed_strings": True,
                "names_only": True,
                "case_sensitive": True,
                "context": 2,
            },
            "Grep",
            {
                "pattern": "a\\.b",
                "path": "/m",
                "glob": "*.md",
                "output_mode": "files_with_matches",
                "-i": False,
                "-n": True,
                "-C": 2,
            },
        ),
        (
            "grep_search",
            {"pattern": "x", "after": 1, "before": 4},
            "Grep",
            {"pattern": "x", "output_mode": "content", "-i": True, "-n": True, "-A": 1, "-B": 4},
        ),
        (
            "read_many_files",
            {"include": ["a.md", "~/.dee*/memory/*", "sub\\*.md"]},
            "Glob",
            {"pattern": ["a.md", "~/.dee*/memory/*", "sub/*.md"]},
        ),
        ("read_many_files", {"include": "a.md"}, "Glob", {"pattern": ["a.md"]}),
        ("list_directory", {"dir_path": "a/../../m/."}, "Read", {"file_path": "/m"}),
        ("list_directory", {}, "Read", {"file_path": "/w"}),
        ("glob", {"pattern": "*", "dir_path": "x/../.."}, "Glob", {"pattern": "*", "path": "/"}),
        ("read_file", {"file_path": "../m/./a.md"}, "Read", {"file_path": "/m/a.md"}),
        ("read_file", {"file_path": "a\u0000.md"}, "Read", {"file_path": "/w/a.md"}),
        ("read_file", {"file_path": "@m/a.md"}, "Read", {"file_path": "/w/m/a.md"}),
        ("read_file", {"file_path": "~/x/../y"}, "Read", {"file_path": "~/x/../y"}),
        ("run_shell_command", {"command": "ls", "dir_path": 3}, "Bash", UNREADABLE_PATH),
        ("write_file", {"file_path": "/m/n.md", "content": "x"}, "Write", {"file_path": "/m/n.md", "content": "x"}),
        (
            "replace",
            {"file_path": "/m/n.md", "old_string": "a", "new_string": "b"},
            "Edit",
            {"file_path": "/m/n.md", "old_string": "a", "new_string": "b"},
        ),
        ("activate_skill", {"name": "db-migrate--alice"}, "Skill", {"skill": "db-migrate--alice"}),
        ("web_fetch", {"url": "u"}, "web_fetch", {"url": "u"}),
    ],
)
def test_gemini_tools_map_to_canonical_ones(tool, tool_input, name, expected):
    got_name, got_input, _cwd = gemini_tool(tool, tool_input, "/w")
    assert (got_name, got_input) == (name, expected)


def test_gemini_tools_are_mapped_in_pre_tool_use_only():
    payload = agent_payload("gemini", "BeforeAgent")
    payload.update(tool_name="activate_skill", tool_input={"name": "x"})
    assert canonical("gemini", "BeforeAgent", payload)["tool_name"] == "activate_skill"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
keys = st.sampled_from(
    [
        "prompt",
        "prompt_response",
        "tool_name",
        "tool_input",
        "tool_response",
        "cwd",
        "hook_event_name",
        "turn_id",
        "model",
    ]
)
tool_names = st.sampled_from(
    [
        "run_shell_command",
        "read_file",
        "list_directory",
        "glob",
        "grep_search",
        "read_many_files",
        "write_file",
        "replace",
        "activate_skill",
        "Bash",
    ]
)
payloads = st.dictionaries(keys | st.text(max_size=8), json_values, max_size=8)
tool_inputs = st.dictionaries(
    st.sampled_from(
        [
            "command",
            "dir_path",
            "file_path",
            "start_line",
            "end_line",
            "pattern",
            "include",
            "include_pattern",
            "fixed_strings",
            "name",
            "context",
            "after",
        ]
    ),
    json_values,
    max_size=6,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=payloads, tool=tool_names, tool_input=tool_inputs | json_values, prompt=st.text(max_size=40))
def test_canonical_payload_never_raises_nor_changes_its_input(payload, tool, tool_input, prompt):
    payload = {**payload, "tool_name": tool, "tool_input": tool_input}
    if prompt:
        payload["prompt"] = "<hook_context>" + prompt
    for name in ("claude", "codex", "gemini"):
        agent = agents.get(name)
        for event in set(agent.events.values()):
            before = copy.deepcopy(payload)
            out = agent.canonical_payload(event, payload)
            assert isinstance(out, dict)
            assert payload == before


def test_a_cut_gemini_input_keeps_its_text_under_the_canonical_name():
    assert gemini_tool("run_shell_command", '{"command": "cat ~/.deeplake/m', "/w") == (
        "Bash",
        '{"command": "cat ~/.deeplake/m',
        None,
    )
    assert gemini_tool("web_fetch", "cut", "/w") == ("web_fetch", "cut", None)


@pytest.mark.parametrize(
    ("cwd", "path", "expected"),
    [
        ("/w", "a/../../b", "/b"),
        ("/w", "../../..", "/"),
        ("/w", "//x//y/", "/x/y"),
        ("/w", "/abs/./z/..", "/abs"),
        (None, "rel", None),
        ("rel-cwd", "x", None),
        (None, "/abs", "/abs"),
    ],
)
def test_resolve_is_nodes_path_resolve(cwd, path, expected):
    """Gemini resolves every tool path with Node's ``path.resolve``: lexical, ``..`` folded."""
    assert resolve(cwd, path) == expected
