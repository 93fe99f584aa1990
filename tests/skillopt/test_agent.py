"""The judge's and proposer's agent CLI call (`claude -p`, no tools, prompt on stdin)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from lakeloop.errors import AgentError
from lakeloop.skillopt import agent


def _fake_cli(tmp_path: Path, body: str) -> Path:
    """An executable standing in for `claude` that records argv, stdin and env to calls.jsonl."""
    script = tmp_path / "fake-claude"
    record = tmp_path / "calls.jsonl"
    script.write_text(f"""#!/usr/bin/env python3
import json, os, sys
data = sys.stdin.read()
with open({str(record)!r}, "a") as fh:
    fh.write(json.dumps({{"argv": sys.argv[1:], "stdin": data, "worker": os.environ.get("LAKELOOP_WORKER")}}) + "\\n")
{body}
""")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def _calls(tmp_path: Path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "calls.jsonl").read_text().splitlines()]


def test_claude_call_flags_stdin_and_recursion_guard(tmp_path, monkeypatch):
    """claude -p runs with no tools, strict MCP config, no session persistence, JSON output, the
    model asked for and the system prompt; the prompt goes on stdin, never argv; LAKELOOP_WORKER=1."""
    cli = _fake_cli(tmp_path, 'print(json.dumps({"type": "result", "is_error": False, "result": "VERDICT"}))')
    monkeypatch.setenv("LAKELOOP_CLAUDE_BIN", str(cli))
    secret_prompt = "USER: the transcript " * 50
    assert agent.claude_call(secret_prompt, "SYSTEM", "haiku") == "VERDICT"
    [call] = _calls(tmp_path)
    argv = call["argv"]
    assert argv[0] == "-p"
    assert argv[argv.index("--tools") + 1] == ""
    assert argv[argv.index("--model") + 1] == "haiku"
    assert argv[argv.index("--system-prompt") + 1] == "SYSTEM"
    assert argv[argv.index("--output-format") + 1] == "json"
    assert "--strict-mcp-config" in argv and "--no-session-persistence" in argv
    assert call["stdin"] == secret_prompt
    assert all("transcript" not in a for a in argv)
    assert call["worker"] == "1"


@pytest.mark.parametrize(
    "body, message",
    [
        ("sys.exit(3)", "exited 3"),
        ('print("not json")', "printed no JSON"),
        ('print(json.dumps({"is_error": True, "result": "API Error: 400"}))', "reported an error"),
        ("import time; time.sleep(5)", "timed out"),
    ],
)
def test_claude_call_failures_raise_agent_error(tmp_path, monkeypatch, body, message):
    """A failing, silent, erroring or slow agent CLI raises AgentError (bounded by the timeout)."""
    monkeypatch.setenv("LAKELOOP_CLAUDE_BIN", str(_fake_cli(tmp_path, body)))
    with pytest.raises(AgentError, match=message):
        agent.claude_call("p", "s", "m", timeout_s=1)


def test_missing_cli_raises_agent_error(tmp_path, monkeypatch):
    """No binary at LAKELOOP_CLAUDE_BIN: AgentError, not OSError."""
    monkeypatch.setenv("LAKELOOP_CLAUDE_BIN", str(tmp_path / "nope"))
    with pytest.raises(AgentError, match="could not start"):
        agent.claude_call("p", "s", "m")


def test_find_claude_order(tmp_path, monkeypatch):
    """LAKELOOP_CLAUDE_BIN first, then claude on PATH, then the usual install locations."""
    monkeypatch.setenv("LAKELOOP_CLAUDE_BIN", "/opt/x/claude")
    assert agent.find_claude() == "/opt/x/claude"
    monkeypatch.delenv("LAKELOOP_CLAUDE_BIN")
    on_path = tmp_path / "bin"
    on_path.mkdir()
    _fake = on_path / "claude"
    _fake.write_text("#!/bin/sh\n")
    _fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(on_path))
    assert agent.find_claude() == str(_fake)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    local = tmp_path / "home" / ".claude" / "local" / "claude"
    local.parent.mkdir(parents=True)
    local.write_text("#!/bin/sh\n")
    local.chmod(0o755)
    assert agent.find_claude() == str(local)


def test_models_are_configurable(monkeypatch):
    """LAKELOOP_JUDGE_MODEL / LAKELOOP_PROPOSER_MODEL choose the models (cheap / capable defaults)."""
    from lakeloop import config

    assert (config.judge_model(), config.proposer_model()) == ("haiku", "sonnet")
    monkeypatch.setenv("LAKELOOP_JUDGE_MODEL", "claude-haiku-9")
    monkeypatch.setenv("LAKELOOP_PROPOSER_MODEL", "opus")
    assert (config.judge_model(), config.proposer_model()) == ("claude-haiku-9", "opus")


def test_judge_min_confidence_is_configurable(monkeypatch):
    """LAKELOOP_JUDGE_MIN_CONFIDENCE (default 0.5, clamped to 1) sets how sure a failure verdict must be."""
    from lakeloop import config
    from lakeloop.skillopt.parse import parse_verdict

    assert config.judge_min_confidence() == 0.5
    monkeypatch.setenv("LAKELOOP_JUDGE_MIN_CONFIDENCE", "0.95")
    verdict = '{"success": 0, "confidence": 0.9, "reason": "broken"}'
    assert parse_verdict(verdict, config.judge_min_confidence()).success is True
    monkeypatch.setenv("LAKELOOP_JUDGE_MIN_CONFIDENCE", "0.8")
    assert parse_verdict(verdict, config.judge_min_confidence()).success is False
    monkeypatch.setenv("LAKELOOP_JUDGE_MIN_CONFIDENCE", "7")
    assert config.judge_min_confidence() == 1.0
