"""Codex CLI's and Gemini CLI's hook events through the real launcher: ``hooks/run <Event> <agent>``
as a subprocess, fed the payloads the pinned CLIs really sent, stored by the real drainer.

Rules under test: the rows are Claude Code's rows with ``agent`` = ``codex`` / ``gemini`` (the
tool name, input and response the agent reported; Gemini's prompt without the hook context
Gemini put in front of it); Gemini's per-model events are never stored; redaction,
``.lakeloop-ignore``, ``LAKELOOP_EXCLUDE`` and ``<private>`` apply as for Claude Code; an unknown
agent, an event the agent does not install, or a payload naming another event is one log line
and nothing stored; PreToolUse answers come out in each agent's own shape, and Gemini's
``activate_skill`` arms a judgment window.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lakeloop import agents, outbox
from lakeloop.skillopt import pending
from tests.support.capture import capture, drained_up_to, prompt, stored_with_agent
from tests.support.hooks import run_hook
from tests.support.logs import log_text
from tests.support.payloads import agent_payload, agent_payloads
from tests.support.skills import write_manifest
from tests.support.waiting import wait_until

TOKEN = "ghp_" + "Zq9" * 12  # a GitHub token shape: redacted by default
HOOK_CONTEXT = "<hook_context>Team memory (lakeloop) is at ~/.deeplake/memory &lt;x&gt;</hook_context>\n\n"


def send(agent: str, payloads: list[dict], cwd: Path, **env: str) -> list[str]:
    """Send each native payload to ``hooks/run <canonical event> <agent>`` (events the agent does
    not install are sent under their native name, as a hand-wired hook would); returns the stdout
    of the parsed events, in order."""
    events = agents.get(agent).events
    outputs = []
    for payload in payloads:
        payload = {**payload, "cwd": str(cwd)}
        native = payload["hook_event_name"]
        event = events.get(native, native)
        if event in ("UserPromptSubmit", "PostToolUse", "Stop"):
            capture(event, payload, agent=agent, **env)
        else:
            proc = run_hook(event, payload, agent=agent, **env)
            assert proc.stderr == b""
            outputs.append(proc.stdout.decode())
    return outputs


def session_rows(session_id: str) -> list[tuple[str, dict]]:
    return [(a, m) for a, m in stored_with_agent() if m["session_id"] == session_id]


def test_codex_session_becomes_codex_rows(tmp_path):
    recorded = agent_payloads("codex")
    send("codex", recorded, tmp_path)
    drained_up_to("sentinel")
    rows = session_rows(recorded[0]["session_id"])
    assert [(a, m["type"]) for a, m in rows] == [
        ("codex", "user_message"),
        ("codex", "tool_call"),
        ("codex", "assistant_message"),
    ]
    user, tool, answer = (m for _a, m in rows)
    assert user["content"] == "run the command"
    assert tool["tool_name"] == "Bash" and "TOOL-OUTPUT-123" in json.loads(tool["tool_input"])["command"]
    assert json.loads(tool["tool_response"]) == "TOOL-OUTPUT-123\n"
    assert answer["content"] == "STANDIN-OK: hello from the scripted stand-in."
    assert "turn_id" not in user and len({m["id"] for _a, m in rows}) == 3


def test_gemini_session_becomes_gemini_rows_and_per_model_events_are_never_stored(tmp_path):
    recorded = agent_payloads("gemini")
    for payload in recorded:
        if payload["hook_event_name"] == "BeforeAgent":
            payload["prompt"] = HOOK_CONTEXT + payload["prompt"]
    send("gemini", recorded, tmp_path)
    after_model = agent_payload("gemini", "AfterModel")
    after_model["llm_response"] = "A CHUNK OF THE ANSWER"
    capture("Stop", {**after_model, "cwd": str(tmp_path)}, agent="gemini")  # wired by hand as Stop
    drained_up_to("sentinel")
    rows = session_rows(recorded[0]["session_id"])
    assert [(a, m["type"]) for a, m in rows] == [
        ("gemini", "user_message"),
        ("gemini", "tool_call"),
        ("gemini", "assistant_message"),
    ]
    user, tool, answer = (m for _a, m in rows)
    assert user["content"] == "run the probe"
    assert user["hook_event_name"] == "UserPromptSubmit"
    assert tool["tool_name"] == "run_shell_command"
    assert json.loads(tool["tool_response"])["returnDisplay"] == "GEMINI-TOOL-OUT"
    assert answer["content"] == "GEMINI-STANDIN-OK"
    assert "A CHUNK" not in json.dumps(stored_with_agent())
    log = log_text()
    for ignored in ("PreCompress", "BeforeModel", "BeforeToolSelection", "AfterModel"):
        assert f"{ignored} is not an event lakeloop handles for gemini: nothing done" in log
    assert "gemini payload says hook_event_name='AfterModel', launched as Stop" in log


def test_unknown_agent_and_uninstalled_event_store_nothing(tmp_path):
    payload = agent_payload("codex", "Stop")
    run_hook("Stop", payload, agent="cursor")
    run_hook("SubagentStop", {**payload, "hook_event_name": "SubagentStop"}, agent="codex")
    drained_up_to("sentinel")
    assert [a for a, _m in stored_with_agent()] == ["claude_code"]
    log = log_text()
    assert "unknown agent 'cursor' (hook event Stop): nothing done" in log
    assert "SubagentStop is not an event lakeloop handles for codex: not stored" in log


def test_gemini_rows_are_redacted_and_private_spans_hidden(tmp_path):
    tool = agent_payload("gemini", "AfterTool")
    tool["tool_response"]["llmContent"] = f"Output: token={TOKEN}"
    user = agent_payload("gemini", "BeforeAgent")
    user["prompt"] = HOOK_CONTEXT + "deploy <private>the vault word</private> now"
    send("gemini", [user, tool], tmp_path)
    rows = drained_up_to("sentinel")
    text = json.dumps(rows)
    assert TOKEN not in text and "[REDACTED:" in text
    assert "vault word" not in text and "deploy [PRIVATE] now" in text


@pytest.mark.parametrize("agent", ["codex", "gemini"])
def test_ignored_and_excluded_projects_are_not_stored(tmp_path, agent):
    ignored = tmp_path / "client"
    ignored.mkdir()
    (ignored / ".lakeloop-ignore").write_text("")
    excluded = tmp_path / "secret-work"
    excluded.mkdir()
    user_event = "BeforeAgent" if agent == "gemini" else "UserPromptSubmit"
    payload = agent_payload(agent, user_event)
    send(agent, [payload], ignored)
    send(agent, [payload], excluded, LAKELOOP_EXCLUDE=str(excluded))
    send(agent, [payload], tmp_path / "open")
    rows = drained_up_to("sentinel")
    assert [m["cwd"] for m in rows][:-1] == [str(tmp_path / "open")]  # then the sentinel's
    assert "not captured (project excluded: .lakeloop-ignore in" in log_text()


def test_a_repeated_delivery_is_stored_once(tmp_path):
    """The same spooled entry drained twice (a drainer that died after its insert) is one row."""
    payload = {**agent_payload("gemini", "AfterAgent"), "cwd": str(tmp_path)}
    from lakeloop.outbox import spool

    path = spool.put_raw("Stop", json.dumps(payload).encode(), agent="gemini")
    data = Path(path).read_bytes()
    drained_up_to("sentinel 1")
    Path(outbox.outbox_dir(), os.path.basename(path).replace(".json", ".u.json")).write_bytes(data)
    drained_up_to("sentinel 2")
    assert [a for a, m in stored_with_agent() if m["content"] == "GEMINI-STANDIN-OK"] == ["gemini"]


# -- PreToolUse and SessionStart answers ---------------------------------------------------------


@pytest.fixture
def remembered(tmp_path) -> str:
    """A term stored in team memory by an earlier (Claude Code) session."""
    term = "RECALL-7731"
    capture("UserPromptSubmit", prompt(tmp_path, f"remember {term} for later"))
    drained_up_to("sentinel")
    return term


def _answer(proc) -> dict:
    assert proc.stderr == b""
    return json.loads(proc.stdout)


def test_codex_shell_grep_on_the_memory_path_is_allowed_with_the_command_only(remembered, tmp_path):
    payload = agent_payload("codex", "PreToolUse")
    payload["cwd"] = str(tmp_path)
    payload["tool_input"] = {"command": f"grep -rn {remembered} ~/.deeplake/memory"}
    out = _answer(run_hook("PreToolUse", payload, agent="codex"))
    hso = out["hookSpecificOutput"]
    assert set(hso) == {"hookEventName", "permissionDecision", "updatedInput"}
    assert hso["permissionDecision"] == "allow" and set(hso["updatedInput"]) == {"command"}
    answer_file = hso["updatedInput"]["command"].split("'")[1]
    assert remembered in Path(answer_file).read_text()


def test_gemini_shell_grep_is_rewritten_and_other_tools_get_the_answer_as_a_deny(remembered, tmp_path):
    base = agent_payload("gemini", "BeforeTool")
    base["cwd"] = str(tmp_path)
    shell = {**base, "tool_input": {"command": f"grep -rn {remembered} ~/.deeplake/memory", "is_background": True}}
    out = _answer(run_hook("PreToolUse", shell, agent="gemini"))
    assert set(out) == {"hookSpecificOutput"} and out["hookSpecificOutput"]["hookEventName"] == "BeforeTool"
    tool_input = out["hookSpecificOutput"]["tool_input"]
    assert tool_input["is_background"] is False
    assert remembered in Path(tool_input["command"].split("'")[1]).read_text()
    home = os.path.expanduser("~")
    search = {
        **base,
        "tool_name": "grep_search",
        "tool_input": {"pattern": remembered, "dir_path": f"{home}/.deeplake/memory"},
    }
    out = _answer(run_hook("PreToolUse", search, agent="gemini"))
    assert out["decision"] == "deny" and remembered in out["reason"]
    hidden = {**base, "tool_name": "glob", "tool_input": {"pattern": ".dee*/**", "dir_path": home}}
    assert _answer(run_hook("PreToolUse", hidden, agent="gemini"))["decision"] == "deny"


def test_gemini_shell_call_off_the_memory_path_passes_silently(tmp_path):
    payload = agent_payload("gemini", "BeforeTool")
    payload["cwd"] = str(tmp_path)
    proc = run_hook("PreToolUse", payload, agent="gemini")
    assert proc.stdout == b"" and proc.stderr == b""
    assert "Traceback" not in log_text()


def test_gemini_activate_skill_arms_the_window():
    ref = "db-migrate--alice"
    write_manifest(ref, version=3)  # any agent's manifest counts; Claude Code's is always read
    payload = agent_payload("gemini", "BeforeTool")
    payload.update(tool_name="activate_skill", tool_input={"name": ref})
    proc = run_hook("PreToolUse", payload, agent="gemini")
    assert proc.stdout == b""
    window = pending.peek(payload["session_id"])
    assert (window["skill"], window["version"]) == (ref, 3)


def test_before_tool_naming_another_event_is_dropped():
    payload = agent_payload("gemini", "BeforeTool")
    payload.update(hook_event_name="PreToolUse", tool_input={"command": "grep -rn x ~/.deeplake/memory"})
    proc = run_hook("PreToolUse", payload, agent="gemini")
    assert proc.stdout == b""
    assert (
        "gemini payload says hook_event_name='PreToolUse', launched as PreToolUse (BeforeTool expected): dropped"
        in log_text()
    )


@pytest.mark.parametrize("agent", ["codex", "gemini"])
def test_session_start_gives_the_model_shell_directions(agent, tmp_path):
    payload = {**agent_payload(agent, "SessionStart"), "cwd": str(tmp_path)}
    out = _answer(run_hook("SessionStart", payload, agent=agent))
    context = out["hookSpecificOutput"]["additionalContext"]
    assert out["hookSpecificOutput"]["hookEventName"] == "SessionStart"
    assert "grep -rn TERM" in context and "Grep tool" not in context
    wait_until(lambda: "Traceback" not in log_text(), 1, "no crash")


def test_gemini_session_end_queues_its_final_summary_for_gemini(tmp_path):
    from tests.support.jobs import queue_rows

    payload = {**agent_payload("gemini", "SessionEnd"), "cwd": str(tmp_path)}
    proc = run_hook("SessionEnd", payload, agent="gemini", LAKELOOP_GEMINI_BIN="/nonexistent")
    assert proc.stdout == b"" and proc.stderr == b""
    job = wait_until(
        lambda: next((j for j in queue_rows() if j.key == "session:" + payload["session_id"]), None), 10, "the job"
    )
    assert job.payload_dict()["final"] is True and job.payload_dict()["agent"] == "gemini"


def test_an_over_large_gemini_shell_call_on_the_memory_path_is_refused(tmp_path):
    """A tool input too large to parse whole (kept as cut text) cannot be checked: refused, as
    Claude Code's Bash is, never passed through under Gemini's own tool name."""
    payload = agent_payload("gemini", "BeforeTool")
    payload["cwd"] = str(tmp_path)
    payload["tool_input"] = {"command": "cat ~/.deeplake/memory/index.md # " + "x" * (2 << 20)}
    out = _answer(run_hook("PreToolUse", payload, agent="gemini"))
    assert out["decision"] == "deny" and "too large to check" in out["reason"]


# -- Gemini's paths are checked where Gemini will really use them ----------------------------------


def _gemini_call(tool: str, tool_input: object, cwd: Path) -> dict | None:
    """Gemini's BeforeTool ``tool`` with ``tool_input`` run in ``cwd``: the hook's answer, or None
    when it printed nothing (the call passes)."""
    payload = agent_payload("gemini", "BeforeTool")
    payload.update(cwd=str(cwd), tool_name=tool, tool_input=tool_input)
    proc = run_hook("PreToolUse", payload, agent="gemini")
    return _answer(proc) if proc.stdout.strip() else None


@pytest.fixture
def deeplake_home() -> Path:
    """The test's home with ``~/.deeplake/credentials.json`` and a project folder ``proj``."""
    home = Path(os.path.expanduser("~"))
    (home / ".deeplake").mkdir()
    (home / ".deeplake" / "credentials.json").write_text('{"token": "NOT-FOR-TOOLS"}')
    (home / "proj").mkdir()
    return home


@pytest.mark.parametrize("dir_path", ["proj/../.deeplake", "{home}/proj/../.deeplake", "proj/..//./.deeplake/"])
def test_a_gemini_shell_dir_path_climbing_with_dotdot_is_resolved_before_the_check(deeplake_home, dir_path):
    """Gemini runs the command in ``path.resolve(cwd, dir_path)``: the credentials check sees that
    folder, not the spelling with ``..`` in it."""
    tool_input = {"command": "cat credentials.json", "dir_path": dir_path.format(home=deeplake_home)}
    out = _gemini_call("run_shell_command", tool_input, deeplake_home)
    assert out is not None and out["decision"] == "deny" and "credentials" in out["reason"]


def test_a_gemini_note_written_through_a_dotdot_dir_path_never_runs_on_the_host(deeplake_home):
    """``echo >> memory/notes/x.md`` from ``proj/../.deeplake`` is on the memory path: answered as
    Claude Code's Bash from ``~/.deeplake`` is (the host runs only ``true``), never passed through."""
    tool_input = {"command": "echo remember-this >> memory/notes/a.md", "dir_path": "proj/../.deeplake"}
    out = _gemini_call("run_shell_command", tool_input, deeplake_home)
    assert out is not None and out["hookSpecificOutput"]["tool_input"]["command"] == "true"
    assert not (deeplake_home / ".deeplake" / "memory").exists()


@pytest.mark.parametrize("dir_path", [[".deeplake"], {"p": 1}, 7, True, ".deep\u0000lake"])
def test_a_gemini_dir_path_that_is_not_a_path_is_refused(deeplake_home, dir_path):
    out = _gemini_call("run_shell_command", {"command": "cat credentials.json", "dir_path": dir_path}, deeplake_home)
    assert out is not None and out["decision"] == "deny" and "cannot be read as a path" in out["reason"]


@pytest.mark.parametrize(
    "file_path",
    [
        ".deep\u0000lake/credentials.json",  # Gemini drops NUL bytes
        "@.deeplake/credentials.json",  # and a leading @ when the path does not exist as written
        "@/.deeplake/credentials.json",  # `@/` too, and the rest is then relative to the cwd
        "proj/../.deeplake/credentials.json",
    ],
)
def test_a_gemini_read_file_is_checked_at_the_path_gemini_opens(deeplake_home, file_path):
    out = _gemini_call("read_file", {"file_path": file_path}, deeplake_home)
    assert out is not None and out["decision"] == "deny" and "credentials" in out["reason"]


@pytest.mark.parametrize(
    "include",
    [["**/*.json"], ["**"], ["**/credentials.json"], ["proj/*.md", ".DEEP*/*"], "**/*.json", [".deeplake\\*"]],
)
def test_gemini_read_many_files_includes_are_each_checked_as_a_glob(deeplake_home, include):
    """Gemini's ``read_many_files`` globs each include from the workspace with dotfiles, ``**``
    and no case: a deny for any include denies the call, as Claude Code's Glob is denied."""
    out = _gemini_call("read_many_files", {"include": include}, deeplake_home)
    assert out is not None and out["decision"] == "deny", out


def test_gemini_read_many_files_in_a_project_passes(deeplake_home):
    assert _gemini_call("read_many_files", {"include": ["**/*.md", "src/*.py"]}, deeplake_home / "proj") is None


def test_gemini_text_fields_that_are_not_strings_are_stored_as_json_text(tmp_path):
    """A prompt or an answer that is not a string is stored as its JSON text, never as a Python
    repr; an AfterAgent without an answer stores what Claude Code's Stop without a message does."""
    from tests.support.payloads import first_payload

    user = agent_payload("gemini", "BeforeAgent")
    user.update(session_id="odd", prompt={"text": ["hi", None, True]})
    answer = agent_payload("gemini", "AfterAgent")
    answer.update(session_id="odd", prompt_response=["part", {"n": 1}])
    empty = agent_payload("gemini", "AfterAgent")
    empty.update(session_id="empty")
    del empty["prompt_response"]
    send("gemini", [user, answer, empty], tmp_path)
    claude = {**first_payload("Stop"), "session_id": "claude-empty", "cwd": str(tmp_path)}
    del claude["last_assistant_message"]
    capture("Stop", claude)
    drained_up_to("sentinel")
    contents = [m["content"] for _a, m in session_rows("odd")]
    assert [json.loads(c) for c in contents] == [{"text": ["hi", None, True]}, ["part", {"n": 1}]]
    [(_a, gemini_empty)] = session_rows("empty")
    [(_a, claude_empty)] = session_rows("claude-empty")
    assert (gemini_empty["type"], gemini_empty["content"]) == (claude_empty["type"], claude_empty["content"])
