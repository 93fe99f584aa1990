"""``lakeloop doctor`` on the embedded store: one line per check with correct plurals, a final
one-line summary, exit 0 only when every check passed, and what to do when the agent CLI is
missing."""

from __future__ import annotations

import sys

import pytest

from lakeloop import paths
from lakeloop.capture.rows import build_message, session_row
from lakeloop.cli.main import main
from lakeloop.identity import Identity
from lakeloop.store.embedded import EmbeddedStore
from tests.support.payloads import first_payload


def _sessions(n: int) -> None:
    store = EmbeddedStore(paths.store_file())
    for i in range(n):
        payload = first_payload("UserPromptSubmit")
        payload["session_id"] = f"s-{i}"
        store.append_session_row(session_row(build_message(payload), Identity("tester")))
    store.close()


@pytest.mark.parametrize("count, words", [(0, "(0 sessions)"), (1, "(1 session)"), (2, "(2 sessions)")])
def test_plurals_and_all_passed(capsys, monkeypatch, count, words):
    """The session count reads right for 0, 1 and 2; with an agent CLI every check passes: exit 0
    and the summary says so."""
    monkeypatch.setenv("LAKELOOP_CLAUDE_BIN", sys.executable)  # any executable file
    _sessions(count)
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("store:     ok      embedded SQLite at") and out[0].endswith(words)
    assert out[-1] == "doctor: all 3 checks passed"


@pytest.mark.parametrize("claude_bin", ["", "/nonexistent/claude"])
def test_a_missing_agent_cli_exits_1_saying_what_to_do(capsys, monkeypatch, tmp_path, claude_bin):
    """No claude on PATH (or LAKELOOP_CLAUDE_BIN naming no executable): exit 1, the line says to
    install Claude Code or set LAKELOOP_CLAUDE_BIN, and the summary counts the problem."""
    monkeypatch.setenv("LAKELOOP_CLAUDE_BIN", claude_bin)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out.splitlines()
    [agent] = [line for line in out if line.startswith("agent CLI:")]
    assert "missing" in agent and "Install Claude Code, or set LAKELOOP_CLAUDE_BIN" in agent
    assert out[-1] == "doctor: 1 problem (agent CLI missing); see the lines above"
