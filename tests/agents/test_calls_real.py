"""The tool-less model calls on the real pinned CLIs, offline: what the model is really sent.

* Codex CLI 0.169.0 against the loopback Responses-API stand-in (tests.support.fake_responses):
  the judge's request offers no tool at all, carries the system prompt in place of Codex's own
  instructions, and none of the user's (trusted) hooks runs, while a plain ``codex exec`` with
  the same home offers the shell and runs them.
* Gemini CLI 0.61.0 against a loopback Gemini API (tests.support.fake_gemini_api): the request
  declares no function, its system instruction is exactly lakeloop's, no hook of the user's runs
  and no MCP server starts, while a plain ``gemini -p`` with the same home offers tools, runs the
  hooks and starts the server. Gemini ignores a system settings file below a folder writable by
  others (``/tmp``); the second Gemini test shows what still holds then. Neither keeps a chat
  file of the judge's run under ``~/.gemini/tmp`` (as ``claude -p --no-session-persistence``).
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lakeloop import agents
from lakeloop.detach import worker_env
from tests.support.isolation import REAL_USER_CACHE

SYSTEM = "LAKELOOP-SYSTEM-7731: you are a strict judge; answer in JSON"
PROMPT = "LAKELOOP-PROMPT-5521: judge this transcript"

_PROBE = """import json, os, sys
with open(sys.argv[1], "a") as fh:
    fh.write(json.dumps({"event": sys.argv[2], "stdin": sys.stdin.read()[:2000]}) + "\\n")
"""

_MCP = """import json, sys
open(sys.argv[1], "a").write("started\\n")
for line in sys.stdin:
    msg = json.loads(line)
    if "id" not in msg:
        continue
    if msg.get("method") == "initialize":
        result = {"protocolVersion": msg["params"].get("protocolVersion", "2025-06-18"),
                  "capabilities": {"tools": {}}, "serverInfo": {"name": "probe", "version": "1"}}
    elif msg.get("method") == "tools/list":
        result = {"tools": [{"name": "probe_tool", "description": "x", "inputSchema": {"type": "object"}}]}
    else:
        result = {}
    print(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": result}), flush=True)
"""


def _probe(tmp_path: Path) -> tuple[str, Path]:
    """A hook command appending each run to a log, and that log."""
    script = tmp_path / "probe_hook.py"
    script.write_text(_PROBE)
    log = tmp_path / "probe.jsonl"
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} {shlex.quote(str(log))}", log


def _mcp(tmp_path: Path) -> tuple[list[str], Path]:
    """An MCP server's argv that notes each start, and that note."""
    script = tmp_path / "probe_mcp.py"
    script.write_text(_MCP)
    started = tmp_path / "mcp-started"
    return [sys.executable, str(script), str(started)], started


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


# -- Codex ---------------------------------------------------------------------------------------


def test_codex_exec_judge_offers_no_tool_and_runs_no_hook(codex_bin, tmp_path, monkeypatch):
    """With the user's hooks trusted and an MCP server configured, a plain ``codex exec`` offers
    the shell, MCP tools and runs the hooks; lakeloop's judge call through the same home sends a
    request with no tool, the system prompt as the first developer message (Codex's own base
    instructions gone), the prompt as the user message, and runs no hook."""
    from lakeloop.agents.codex_install import trust_hash
    from tests.support.codex_cli import node_env
    from tests.support.fake_responses import FakeResponses, Reply, codex_config, input_text, tool_names

    home = tmp_path / "codex-home"
    home.mkdir()
    command, log = _probe(tmp_path)
    mcp_argv, mcp_started = _mcp(tmp_path)
    events = ("SessionStart", "UserPromptSubmit", "Stop")
    hooks = {
        "hooks": {ev: [{"hooks": [{"type": "command", "command": f"{command} {ev}", "timeout": 5}]}] for ev in events}
    }
    hooks_path = home / "hooks.json"
    hooks_path.write_text(json.dumps(hooks))
    snake = {"SessionStart": "session_start", "UserPromptSubmit": "user_prompt_submit", "Stop": "stop"}
    trust = "".join(
        f'\n[hooks.state."{hooks_path}:{snake[ev]}:0:0"]\ntrusted_hash = "{trust_hash(ev, f"{command} {ev}", 5)}"\n'
        for ev in events
    )
    mcp = f"\n[mcp_servers.probe]\ncommand = {json.dumps(mcp_argv[0])}\nargs = {json.dumps(mcp_argv[1:])}\n"
    with FakeResponses(lambda body: Reply.text("VERDICT-OK")) as api:
        (home / "config.toml").write_text(codex_config(api.base_url) + mcp + trust)
        env = node_env({**os.environ, "CODEX_HOME": str(home), "STANDIN_API_KEY": "x"})
        plain = subprocess.run(
            [codex_bin, "exec", "--skip-git-repo-check", "say hi"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert plain.returncode == 0, plain.stderr[-2000:]
        [control] = api.requests
        assert "exec_command" in tool_names(control) and "mcp__probe" in tool_names(control)
        assert {json.loads(line)["event"] for line in _lines(log)} == set(events)
        hooks_before, mcp_before = len(_lines(log)), len(_lines(mcp_started))

        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("LAKELOOP_CODEX_BIN", codex_bin)
        reply = agents.get("codex").model_call(PROMPT, SYSTEM, "judge", 120, worker_env())

        assert reply.strip() == "VERDICT-OK"
        [judge] = api.requests[1:]
    assert tool_names(judge) == []
    developer = input_text(judge, "developer")
    assert developer.startswith(SYSTEM) and input_text(control, "developer")[:200] not in developer
    assert PROMPT in input_text(judge, "user")
    assert len(_lines(log)) == hooks_before, "a hook ran during the judge's codex exec"
    assert len(_lines(mcp_started)) == mcp_before, "an MCP server started for the judge"


# -- Gemini --------------------------------------------------------------------------------------


def _gemini_home(tmp_path: Path, command: str, mcp_argv: list[str]) -> Path:
    from tests.support.gemini_script import gemini_settings

    home = Path(os.environ["HOME"])
    (home / ".gemini").mkdir(parents=True, exist_ok=True)
    probe = {
        ev: [{"hooks": [{"type": "command", "command": f"{command} {ev}", "timeout": 10000}]}]
        for ev in ("BeforeAgent", "BeforeModel")
    }
    mcp = {"probe": {"command": mcp_argv[0], "args": mcp_argv[1:]}}
    (home / ".gemini" / "settings.json").write_text(json.dumps(gemini_settings(hooks=probe, mcpServers=mcp)))
    return home


def _gemini_env(monkeypatch, gemini_bin: str, base_url: str) -> dict[str, str]:
    from tests.support.gemini_script import gemini_env

    env = gemini_env(Path(os.environ["HOME"]), GOOGLE_GEMINI_BASE_URL=base_url)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LAKELOOP_GEMINI_BIN", gemini_bin)
    return env


@pytest.fixture
def secure_data_dir(monkeypatch):
    """A data dir no group or other user can write to, nor any folder above it (Gemini reads a
    system settings file only there): under the real user cache, removed afterwards."""
    path = Path(REAL_USER_CACHE) / "lakeloop-tests" / f"calls-{secrets.token_hex(6)}"
    path.mkdir(parents=True, mode=0o700)
    for folder in [path, *path.parents]:
        assert not os.stat(folder).st_mode & 0o022, f"{folder} is writable by others"
    monkeypatch.setenv("LAKELOOP_DATA_DIR", str(path))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_gemini_p_judge_declares_no_function_and_runs_no_hook(
    gemini_bin, tmp_path, monkeypatch, secure_data_dir, caplog
):
    """A plain ``gemini -p`` with the user's settings offers tools, runs the user's hooks and starts
    their MCP server; lakeloop's judge call through the same home sends requests declaring no
    function, whose system instruction is exactly lakeloop's, runs no hook and starts no MCP server."""
    from tests.support.fake_gemini_api import FakeGeminiApi, function_names, system_text

    command, log = _probe(tmp_path)
    mcp_argv, mcp_started = _mcp(tmp_path)
    _gemini_home(tmp_path, command, mcp_argv)
    with FakeGeminiApi("VERDICT-OK") as api:
        env = _gemini_env(monkeypatch, gemini_bin, api.base_url)
        work = tmp_path / "work"
        work.mkdir()
        plain = subprocess.run(
            [gemini_bin, "-p", "say hi", "-o", "json", "--skip-trust"],
            env=env,
            cwd=work,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert plain.returncode == 0, plain.stderr[-2000:]
        [control] = api.model_requests()
        assert function_names(control), "the control run offered no tool"
        assert {json.loads(line)["event"] for line in _lines(log)} == {"BeforeAgent", "BeforeModel"}
        assert _lines(mcp_started)
        hooks_before, mcp_before = len(_lines(log)), len(_lines(mcp_started))

        reply = agents.get("gemini").model_call(PROMPT, SYSTEM, "judge", 120, worker_env())

        judge = api.model_requests()[1:]
    assert reply == "VERDICT-OK"
    assert judge and all(function_names(body) == [] for body in judge)
    assert all(system_text(body) == SYSTEM for body in judge)
    assert PROMPT in json.dumps(judge[-1]["contents"])
    assert len(_lines(log)) == hooks_before, "a hook ran during the judge's gemini -p"
    assert len(_lines(mcp_started)) == mcp_before, "an MCP server started for the judge"
    assert not list(secure_data_dir.joinpath("agent-runs").iterdir())
    assert [p.parent.parent.name for p in _gemini_chats()] == ["work"], "the judge's chat was kept"
    assert "ignores lakeloop's system settings" not in caplog.text


def _gemini_chats() -> list[Path]:
    """The chat files Gemini CLI kept under ``~/.gemini/tmp/<project>/chats``."""
    return sorted((Path(os.environ["HOME"]) / ".gemini" / "tmp").glob("*/chats/*"))


def test_gemini_p_judge_declares_no_function_even_without_its_system_settings(
    gemini_bin, tmp_path, monkeypatch, caplog
):
    """With the data dir below ``/tmp`` Gemini skips lakeloop's system settings file (it names the
    insecure folder on stderr): the deny-all policy still removes every tool, no MCP server starts
    and the system prompt is still lakeloop's. The user's own Gemini hooks do run then (lakeloop's
    hooks see LAKELOOP_WORKER=1 and capture nothing), which lakeloop logs as a warning."""
    from tests.support.fake_gemini_api import FakeGeminiApi, function_names, system_text

    command, _log = _probe(tmp_path)
    mcp_argv, mcp_started = _mcp(tmp_path)
    _gemini_home(tmp_path, command, mcp_argv)
    with FakeGeminiApi("VERDICT-OK") as api:
        _gemini_env(monkeypatch, gemini_bin, api.base_url)
        reply = agents.get("gemini").model_call(PROMPT, SYSTEM, "proposer", 120, worker_env())
        judge = api.model_requests()
    assert reply == "VERDICT-OK"
    assert judge and all(function_names(body) == [] for body in judge)
    assert all(system_text(body) == SYSTEM for body in judge)
    assert _lines(mcp_started) == []
    assert _gemini_chats() == [], "the judge's chat was kept"
    assert "Gemini CLI ignores lakeloop's system settings" in caplog.text
