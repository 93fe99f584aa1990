"""The judge's, proposer's and summariser's model calls through each agent's CLI
(``Agent.model_call``, ``lakeloop.agents.calls``), with fake binaries (tests.support.fake_agent_cli):
the prompt on stdin and never in argv, the tool-less flags, LAKELOOP_WORKER=1, a fresh 0700
working folder removed afterwards, and every failure an AgentError."""

from __future__ import annotations

import json
import os
import time

import pytest

from lakeloop import agents, paths
from lakeloop.detach import worker_env
from lakeloop.errors import AgentError
from tests.support.fake_agent_cli import calls, fake_cli

AGENTS = ("claude", "codex", "gemini")
PROMPT = "USER: the transcript with a secret-looking line " * 40


def _use(monkeypatch, tmp_path, name: str, body: str | None = None):
    agent = agents.get(name)
    monkeypatch.setenv(agent.bin_env, str(fake_cli(tmp_path / "bin", name, body)))
    return agent


def _runs_left() -> list[str]:
    runs = paths.data_dir() / "agent-runs"
    return sorted(os.listdir(runs)) if runs.exists() else []


@pytest.mark.parametrize("name", AGENTS)
def test_prompt_goes_on_stdin_in_a_fresh_private_folder_as_a_worker(monkeypatch, tmp_path, name):
    """Every agent: the reply comes back; the prompt is the child's stdin and in no argv element;
    LAKELOOP_WORKER=1 (the run is never captured); the child is in the caller's process group
    (the job runner's kill of a job's group reaches it); the working folder is a fresh 0700
    folder under the data dir, removed afterwards."""
    agent = _use(monkeypatch, tmp_path, name)
    assert agent.model_call(PROMPT, "SYSTEM PROMPT", "judge", 30, worker_env()) == "REPLY"
    [call] = calls(tmp_path / "bin")
    assert call["stdin"] == PROMPT
    assert not any("transcript" in arg for arg in call["argv"])
    assert call["worker"] == "1" and call["pgid"] == os.getpgrp()
    assert call["cwd_mode"] == 0o700
    assert os.path.dirname(call["cwd"]) == str(paths.data_dir() / "agent-runs")
    assert _runs_left() == []


def test_claude_runs_claude_p_without_tools_with_the_role_s_model(monkeypatch, tmp_path):
    """Claude Code: ``claude -p`` as before (no tools, strict MCP config, no session file, JSON
    output, the system prompt as an argument); judge/proposer/summary pick their model settings."""
    agent = _use(monkeypatch, tmp_path, "claude")
    monkeypatch.setenv("LAKELOOP_PROPOSER_MODEL", "opus-x")
    for role in ("judge", "proposer", "summary"):
        agent.model_call("p", "SYSTEM", role, 30, worker_env())
    argvs = [c["argv"] for c in calls(tmp_path / "bin")]
    assert [a[a.index("--model") + 1] for a in argvs] == ["haiku", "opus-x", "haiku"]
    argv = argvs[0]
    assert argv[0] == "-p" and argv[argv.index("--tools") + 1] == ""
    assert argv[argv.index("--system-prompt") + 1] == "SYSTEM"
    assert argv[argv.index("--output-format") + 1] == "json"
    assert "--strict-mcp-config" in argv and "--no-session-persistence" in argv


def _pairs(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == flag]


def test_codex_exec_turns_off_hooks_shell_and_every_tool(monkeypatch, tmp_path):
    """Codex CLI: ``codex exec --ephemeral --skip-git-repo-check``, a read-only sandbox, the hooks,
    shell and tool-bearing features disabled, request_user_input/update_plan/web search off, the
    system prompt in a 0600 ``model_instructions_file``, the prompt from stdin (``-``), the reply
    read from the ``-o`` file; each MCP server of $CODEX_HOME/config.toml disabled by name; no
    ``-m`` unless LAKELOOP_CODEX_MODEL is set."""
    agent = _use(monkeypatch, tmp_path, "codex")
    home = tmp_path / "codex-home"
    home.mkdir()
    (home / "config.toml").write_text('model = "x"\n[mcp_servers.docs]\ncommand = "docs-mcp"\n[mcp_servers.db-tool]\n')
    monkeypatch.setenv("CODEX_HOME", str(home))
    agent.model_call(PROMPT, "JUDGE SYSTEM", "judge", 30, worker_env())
    monkeypatch.setenv("LAKELOOP_CODEX_MODEL", "gpt-judge")
    agent.model_call(PROMPT, "JUDGE SYSTEM", "proposer", 30, worker_env())
    first, second = calls(tmp_path / "bin")
    argv = first["argv"]
    assert argv[:3] == ["exec", "--ephemeral", "--skip-git-repo-check"] and argv[-1] == "-"
    assert _pairs(argv, "-s") == ["read-only"]
    assert {"hooks", "shell_tool", "unified_exec", "multi_agent", "apps", "plugins"} <= set(_pairs(argv, "--disable"))
    settings = _pairs(argv, "-c")
    for setting in (
        'web_search="disabled"',
        "tools.experimental_request_user_input.enabled=false",
        "mcp_servers.docs.enabled=false",
        "mcp_servers.db-tool.enabled=false",
    ):
        assert setting in settings
    assert first["files"]["instructions"] == {"text": "JUDGE SYSTEM", "mode": 0o600}
    assert "-m" not in argv and _pairs(second["argv"], "-m") == ["gpt-judge"]


def test_gemini_p_denies_every_tool_turns_hooks_off_and_replaces_the_system_prompt(monkeypatch, tmp_path):
    """Gemini CLI: ``gemini -p ""`` (stdin is the prompt) with JSON output, a 0600 policy denying
    every tool, no MCP server, no extension; GEMINI_SYSTEM_MD holds the system prompt and the
    system settings turn hooks off, built-in tools off and MCP servers off, keeping the machine's
    own system settings; no ``-m`` unless LAKELOOP_GEMINI_MODEL is set."""
    agent = _use(monkeypatch, tmp_path, "gemini")
    machine = tmp_path / "system-settings.json"
    machine.write_text(json.dumps({"security": {"auth": {"enforcedType": "gemini-api-key"}}, "tools": {"x": 1}}))
    monkeypatch.setenv("GEMINI_CLI_SYSTEM_SETTINGS_PATH", str(machine))
    agent.model_call(PROMPT, "SUMMARY SYSTEM", "summary", 30, worker_env())
    monkeypatch.setenv("LAKELOOP_GEMINI_MODEL", "gemini-judge")
    agent.model_call(PROMPT, "SUMMARY SYSTEM", "judge", 30, worker_env())
    first, second = calls(tmp_path / "bin")
    argv = first["argv"]
    assert _pairs(argv, "-p") == [""] and _pairs(argv, "-o") == ["json"] and "--skip-trust" in argv
    assert _pairs(argv, "-e") == ["none"] and len(_pairs(argv, "--allowed-mcp-server-names")) == 1
    policy = first["files"]["policy"]
    assert policy["mode"] == 0o600 and 'toolName = "*"' in policy["text"] and 'decision = "deny"' in policy["text"]
    assert first["files"]["GEMINI_SYSTEM_MD"] == {"text": "SUMMARY SYSTEM", "mode": 0o600}
    settings = json.loads(first["files"]["GEMINI_CLI_SYSTEM_SETTINGS_PATH"]["text"])
    assert settings["hooksConfig"]["enabled"] is False
    assert settings["tools"] == {"x": 1, "core": []} and settings["mcpServers"] == {}
    assert settings["security"] == {"auth": {"enforcedType": "gemini-api-key"}}
    assert "-m" not in argv and _pairs(second["argv"], "-m") == ["gemini-judge"]


FAILURES = [
    ("sys.exit(3)", "exited 3"),
    ("print('not json')", "no JSON|no reply"),
    ("import time; time.sleep(30)", "timed out"),
]


@pytest.mark.parametrize("name", AGENTS)
@pytest.mark.parametrize("body, message", FAILURES)
def test_failures_raise_agent_error_and_leave_no_folder(monkeypatch, tmp_path, name, body, message):
    """A failing, silent or slow CLI raises AgentError (bounded by the timeout) and its working
    folder is removed all the same."""
    agent = _use(monkeypatch, tmp_path, name, body)
    started = time.monotonic()
    with pytest.raises(AgentError, match=message):
        agent.model_call("p", "s", "judge", 1, worker_env())
    assert time.monotonic() - started < 10
    assert _runs_left() == []


@pytest.mark.parametrize("name", AGENTS)
def test_an_error_reply_is_an_agent_error(monkeypatch, tmp_path, name):
    """The CLI's own error report (Claude: ``is_error``; Gemini: ``error``, even beside a
    ``response``; Codex: an empty reply file) is an AgentError, never a reply."""
    body = {
        "claude": 'print(json.dumps({"is_error": True, "result": "API Error: 400"}))',
        "codex": "pass",
        "gemini": 'print(json.dumps({"response": "", "error": {"type": "ApiError", "message": "quota"}}))',
    }[name]
    agent = _use(monkeypatch, tmp_path, name, body)
    with pytest.raises(AgentError, match="reported an error|no reply"):
        agent.model_call("p", "s", "judge", 10, worker_env())


@pytest.mark.parametrize("name", AGENTS)
def test_a_timeout_kills_the_cli_and_its_descendants(monkeypatch, tmp_path, name):
    """On a timeout the CLI's children die too (the npm launchers run the real binary as a
    child): the grandchild's pid is gone right after the AgentError."""
    pid_file = tmp_path / "grandchild.pid"
    body = (
        "import subprocess, time\n"
        f"p = subprocess.Popen(['sleep', '60'])\nopen({str(pid_file)!r}, 'w').write(str(p.pid))\ntime.sleep(60)"
    )
    agent = _use(monkeypatch, tmp_path, name, body)
    with pytest.raises(AgentError, match="timed out"):
        agent.model_call("p", "s", "judge", 2, worker_env())
    assert not _running(int(pid_file.read_text()))


def _running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (a killed orphan waits for init to reap it)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(") ", 1)[-1][:1] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("name", AGENTS)
def test_missing_binary_is_an_agent_error(monkeypatch, tmp_path, name):
    """A binary that does not exist: AgentError ("could not start"), not OSError; no binary found
    at all: AgentError naming the agent's setting."""
    agent = agents.get(name)
    monkeypatch.setenv(agent.bin_env, str(tmp_path / "nope"))
    with pytest.raises(AgentError, match="could not start"):
        agent.model_call("p", "s", "judge", 5, worker_env())
    monkeypatch.setattr(type(agent), "find_binary", lambda self: None)
    with pytest.raises(AgentError, match=agent.bin_env):
        agent.model_call("p", "s", "judge", 5, worker_env())


def test_unknown_role_is_refused(monkeypatch, tmp_path):
    """A role outside judge/proposer/summary is a KeyError before anything runs."""
    for name in AGENTS:
        agent = _use(monkeypatch, tmp_path / name, name)
        with pytest.raises(KeyError):
            agent.model_call("p", "s", "reviewer", 5, worker_env())
        assert calls(tmp_path / name / "bin") == []


def test_codex_mcp_server_names_survive_a_file_the_toml_reader_refuses(tmp_path):
    """``codex_mcp_servers`` reads the names from ``[mcp_servers.<name>]`` headers when the file
    does not parse, and never passes a name Codex could not have (it would be a -c injection)."""
    from lakeloop.agents.calls import codex_mcp_servers

    bad = tmp_path / "config.toml"
    bad.write_text('[mcp_servers.alpha]\ncommand = "a"\n[mcp_servers."beta"]\nthis is = not toml = at all\n')
    assert codex_mcp_servers(bad) == ["alpha", "beta"]
    good = tmp_path / "good.toml"
    good.write_text('mcp_servers = { "ok_1" = { command = "x" }, "a.b=true" = { command = "y" } }\n')
    assert codex_mcp_servers(good) == ["ok_1"]
    assert codex_mcp_servers(tmp_path / "missing.toml") == []
