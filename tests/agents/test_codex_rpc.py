"""``lakeloop.agents.codex_rpc``: the ``codex app-server`` client is bounded and says what failed.

Stand-in servers (small ``sh``/Python scripts) play the misbehaving cases; the real server is
exercised by tests/cli/test_install_agents.py and tests/agents/test_codex_hash.py.
"""

from __future__ import annotations

import sys
import time

import pytest

from lakeloop.agents.codex_rpc import AppServer, CodexRpcError, forget_edit, trust_edit


def _script(tmp_path, body: str):
    path = tmp_path / "codex"
    path.write_text(f"#!{sys.executable}\nimport json, sys, time\n{body}\n")
    path.chmod(0o755)
    return str(path)


def test_a_server_that_never_answers_is_given_up_on_within_the_bound(tmp_path):
    """No answer to ``initialize``: CodexRpcError after ``timeout_s``, and the server is ended."""
    binary = _script(tmp_path, "time.sleep(60)")
    started = time.monotonic()
    with pytest.raises(CodexRpcError, match="did not answer initialize within 1 s"):
        with AppServer(binary, timeout_s=1.0):
            pass
    assert time.monotonic() - started < 5


def test_an_error_answer_and_an_early_exit_are_reported(tmp_path):
    """An error answer names the call and carries Codex's message; a server that exits early
    is reported as such; notifications between requests are skipped."""
    answers = """
for line in sys.stdin:
    msg = json.loads(line)
    if "id" not in msg:
        continue
    print(json.dumps({"method": "note", "params": {}}), flush=True)
    if msg["method"] == "initialize":
        print(json.dumps({"id": msg["id"], "result": {}}), flush=True)
    elif msg["method"] == "hooks/list":
        print(json.dumps({"id": msg["id"], "result": {"data": [{"hooks": [{"key": "k"}, 3]}]}}), flush=True)
    elif msg["method"] == "config/batchWrite":
        error = {"code": 1, "message": "failed to load configuration"}
        print(json.dumps({"id": msg["id"], "error": error}), flush=True)
    else:
        sys.exit(0)
"""
    with AppServer(_script(tmp_path, answers), timeout_s=10) as server:
        assert server.hooks_list("/x") == [{"key": "k"}]
        with pytest.raises(CodexRpcError, match="refused config/batchWrite: failed to load configuration"):
            server.batch_write([])
        with pytest.raises(CodexRpcError, match="exited before answering other"):
            server.call("other", {})


def test_missing_binary_and_edit_shapes(tmp_path):
    """A binary that cannot start is a CodexRpcError; the trust edits quote the key."""
    with pytest.raises(CodexRpcError, match="could not start"):
        with AppServer(str(tmp_path / "missing")):
            pass
    assert trust_edit('/a "b"/hooks.json:stop:0:0', "sha256:1") == {
        "keyPath": 'hooks.state."/a \\"b\\"/hooks.json:stop:0:0".trusted_hash',
        "value": "sha256:1",
        "mergeStrategy": "upsert",
    }
    assert forget_edit("k") == {"keyPath": 'hooks.state."k"', "value": None, "mergeStrategy": "replace"}
