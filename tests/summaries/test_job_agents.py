"""Session summaries use the CLI of the agent that produced the session: the ``summarize`` job's
``agent`` (the rows' agent value; absent: Claude Code) picks whose tool-less model call writes the
summary (fake binaries, tests.support.fake_agent_cli), and a missing CLI fails the job at once
naming that agent's setting."""

from __future__ import annotations

import logging
import time

import pytest

from lakeloop import agents
from lakeloop.jobs import JobFailed
from lakeloop.jobs.kinds import Context
from lakeloop.store import open_store
from lakeloop.summaries.job import run
from tests.support.fake_agent_cli import calls, fake_cli
from tests.support.summaries import answer, chat, payload, rows_of

SID = "s-agents-1"
AGENTS = ("claude", "codex", "gemini")
_ANSWER = {
    "claude": "print(json.dumps({'is_error': False, 'result': REPLY}))",
    "codex": "open(argv[argv.index('-o') + 1], 'w').write(REPLY)",
    "gemini": "print(json.dumps({'response': REPLY}))",
}


def _ctx() -> Context:
    return Context(1, f"session:{SID}", 1, 5, logging.getLogger("lakeloop.test-summaries"), time.time() + 300)


@pytest.mark.parametrize("name, row_agent", [("claude", None), ("codex", "codex"), ("gemini", "gemini")])
def test_the_summary_is_written_through_the_session_s_agent(monkeypatch, tmp_path, name, row_agent):
    """Only the session's agent's CLI is called, once, with the session text on stdin (never in
    argv) and LAKELOOP_WORKER=1; Claude Code keeps LAKELOOP_SUMMARY_MODEL."""
    for each in AGENTS:
        body = f"REPLY = {answer()!r}\n{_ANSWER[each]}"
        monkeypatch.setenv(agents.get(each).bin_env, str(fake_cli(tmp_path / each, each, body)))
    with open_store() as store:
        store.append_session_rows(rows_of(SID, chat(3)))
    job = payload(SID, final=True, **({"agent": row_agent} if row_agent else {}))
    assert run(job, _ctx()) == "written"
    [call] = calls(tmp_path / name)
    assert call["worker"] == "1" and "prompt number 2" in call["stdin"]
    assert not any("prompt number" in arg for arg in call["argv"])
    if name == "claude":
        assert call["argv"][call["argv"].index("--model") + 1] == "haiku"
    for other in set(AGENTS) - {name}:
        assert calls(tmp_path / other) == []


@pytest.mark.parametrize("name", ["codex", "gemini"])
def test_a_missing_cli_fails_at_once_naming_the_agent_s_setting(monkeypatch, tmp_path, name):
    """No runnable CLI for a Codex or Gemini session: ``JobFailed`` at once, one line naming
    LAKELOOP_CODEX_BIN / LAKELOOP_GEMINI_BIN (Claude Code's CLI being there does not help)."""
    agent = agents.get(name)
    monkeypatch.setenv(agent.bin_env, str(tmp_path / "missing"))
    monkeypatch.setenv("LAKELOOP_CLAUDE_BIN", str(fake_cli(tmp_path / "claude", "claude")))
    with open_store() as store:
        store.append_session_rows(rows_of(SID, chat(3)))
    with pytest.raises(JobFailed) as failed:
        run(payload(SID, agent=agent.row_agent), _ctx())
    assert agent.bin_env in failed.value.reason and "\n" not in failed.value.reason
    assert calls(tmp_path / "claude") == []
