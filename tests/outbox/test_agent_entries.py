"""The agent travels with an outbox entry: Codex CLI's and Gemini CLI's events are spooled raw with
the agent named in the entry's settings header, and the drainer stores them as that agent's rows.

Rules: the header's ``agent`` field is written from the hook's argument only (never from the
environment) and left out for Claude Code, whose entries stay byte for byte as before; an older
reader skips the field; an unknown agent, or another agent's payload naming another event, is
set aside (``outbox/failed``), never stored under the wrong agent; a replayed entry is stored once.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lakeloop import outbox, paths
from lakeloop.agents.base import OUTBOX_AGENT_FIELD
from lakeloop.capture.parse import parse
from lakeloop.outbox import spool
from lakeloop.store.embedded import EmbeddedStore
from tests.support.outbox import Recorder, drainer, failed_names
from tests.support.payloads import agent_payload


def agents_stored() -> list[tuple[str, dict]]:
    if not paths.store_file().exists():
        return []
    with EmbeddedStore(paths.store_file()) as store:
        return [(a, json.loads(m)) for a, m in store._run("SELECT agent, message FROM sessions ORDER BY rowid")]


def test_claude_entries_have_no_agent_field_and_the_environment_cannot_add_one(monkeypatch):
    monkeypatch.setenv("LAKELOOP_AGENT", "gemini")
    monkeypatch.setenv(OUTBOX_AGENT_FIELD, "gemini")
    header = spool.settings_header()
    assert header == spool.settings_header("claude")
    assert b" agent=" not in header
    settings, _cut = spool.parse_header(header)
    assert OUTBOX_AGENT_FIELD not in settings


def test_the_header_field_is_the_agents_contracts():
    assert spool.AGENT_FIELD == OUTBOX_AGENT_FIELD


def test_agent_field_round_trips_and_stays_out_of_the_recorded_environment():
    header = spool.settings_header("gemini")
    assert header.endswith(b" agent=" + b"gemini".hex().encode() + b"\n")
    settings, _cut = spool.parse_header(header)
    assert settings[OUTBOX_AGENT_FIELD] == "gemini"
    payload = parse(header + json.dumps(agent_payload("gemini", "AfterAgent")).encode(), "Stop")
    entry = payload["_lakeloop_settings"]
    assert entry.agent == "gemini" and entry.row_agent == "gemini"
    assert OUTBOX_AGENT_FIELD not in entry.env
    assert payload["last_assistant_message"] == "GEMINI-STANDIN-OK"


def test_a_header_with_the_longest_agent_field_still_parses():
    header = spool.settings_header("x" * spool.MAX_AGENT_BYTES)
    assert len(header) <= spool.MAX_HEADER_BYTES
    with pytest.raises(ValueError):
        spool.settings_header("x" * (spool.MAX_AGENT_BYTES + 1))


def test_codex_and_gemini_entries_become_their_agents_rows_once_even_when_replayed():
    spool.put_raw("PostToolUse", json.dumps(agent_payload("codex", "PostToolUse")).encode(), 1, agent="codex")
    path = spool.put_raw("Stop", json.dumps(agent_payload("gemini", "AfterAgent")).encode(), 2, agent="gemini")
    data = Path(path).read_bytes()
    drainer(Recorder()).run()
    Path(outbox.outbox_dir(), os.path.basename(path).replace(".json", ".u.json")).write_bytes(data)  # a crash
    drainer(Recorder()).run()
    rows = agents_stored()
    assert [(a, m["type"]) for a, m in rows] == [("codex", "tool_call"), ("gemini", "assistant_message")]
    assert rows[0][1]["tool_response"] == json.dumps("TOOL-OUTPUT-123\n")
    assert outbox.pending() == []


@pytest.mark.parametrize(
    ("agent", "event", "native"),
    [("nobody", "Stop", ("gemini", "AfterAgent")), ("gemini", "Stop", ("gemini", "AfterModel"))],
)
def test_unknown_agent_or_mismatched_event_is_set_aside_not_stored(agent, event, native):
    header = spool.settings_header()[:-1] + f" {OUTBOX_AGENT_FIELD}={agent.encode().hex()}\n".encode()
    name = f"{1:020d}-1-abcd1234-{event}.json"
    os.makedirs(outbox.outbox_dir(), exist_ok=True)
    Path(outbox.outbox_dir(), name).write_bytes(header + json.dumps(agent_payload(*native)).encode())
    drainer(Recorder()).run()
    assert agents_stored() == []
    assert failed_names() == [name]


@pytest.mark.parametrize(("agent", "spooled"), [("gemini", True), ("cursor", False)])
def test_bootstrap_records_the_agent_and_skips_an_unknown_one(tmp_path, agent, spooled):
    """Before the plugin's virtualenv exists, ``hooks/bootstrap.py VENV EVENT AGENT`` spools a
    known agent's capture event with the agent in its header, and an unknown agent's not at all."""
    import subprocess
    import sys

    from lakeloop import locks
    from tests.support.repo import REPO

    venv = tmp_path / "plugin-data" / "venv"
    venv.parent.mkdir(parents=True)
    payload = json.dumps(agent_payload("gemini", "AfterAgent")).encode()
    held = locks.try_lock(paths.plugin_venv_lock(str(venv)))  # as if a build ran: none is started
    try:
        subprocess.run(
            [sys.executable, str(REPO / "hooks" / "bootstrap.py"), str(venv), "Stop", agent],
            input=payload,
            check=True,
            timeout=60,
        )
    finally:
        locks.unlock(held)
    if not spooled:
        assert outbox.pending() == []
        return
    [entry] = outbox.pending()
    settings, _cut, body = spool.split_entry(Path(outbox.outbox_dir(), entry).read_bytes())
    assert settings[OUTBOX_AGENT_FIELD] == "gemini" and body == payload
