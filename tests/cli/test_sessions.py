"""``lakeloop sessions`` on sessions captured through the real hooks: aligned columns (local
time, user, agent, project, prompts, first prompt), newest first, stored text escaped, the last
column cut to the terminal's width; ``--json`` keeps the old fields and adds the new ones."""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest

from lakeloop.cli.main import main
from tests.support.capture import capture, prompt, stop, stored
from tests.support.waiting import wait_until

OLD, NEW = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
HOSTILE = "rotate keys \x1b]52;c;ZXZpbA==\x07 now \u202eevil"


@pytest.fixture()
def india_time(monkeypatch):
    """This process's time zone is UTC+05:30 (a POSIX TZ string: no tz database needed)."""
    monkeypatch.setenv("TZ", "IST-5:30")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture()
def two_sessions(tmp_path):
    """Session OLD (project ``shop``: two prompts, the first hostile) then NEW (project ``infra``:
    one long prompt and an answer), captured through ``hooks/run``; returns the stored messages."""
    shop, infra = tmp_path / "shop", tmp_path / "infra"
    shop.mkdir(), infra.mkdir()
    capture("UserPromptSubmit", prompt(shop, HOSTILE, OLD))
    capture("UserPromptSubmit", prompt(shop, "and the second prompt", OLD))
    capture("UserPromptSubmit", prompt(infra, "why is the kafka broker restarting " * 10, NEW))
    answer = stop(infra, "because of the disk")
    answer["session_id"] = NEW
    capture("Stop", answer)
    return wait_until(lambda: rows if len(rows := stored()) == 4 else None, 60, "4 captured rows")


def test_columns_local_time_newest_first(two_sessions, india_time, capsys, monkeypatch):
    """Columns TIME USER AGENT PROJECT PROMPTS FIRST PROMPT, the newest session first, TIME the
    latest event in the local zone (``YYYY-MM-DD HH:MM``), columns aligned."""
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["sessions"]) == 0
    head, first, second = capsys.readouterr().out.splitlines()
    assert head.split() == ["TIME", "USER", "AGENT", "PROJECT", "PROMPTS", "FIRST", "PROMPT"]
    latest = max(m["timestamp"] for m in two_sessions if m["session_id"] == NEW)
    local = datetime.fromisoformat(latest.replace("Z", "+00:00")).astimezone().strftime("%Y-%m-%d %H:%M")
    assert first.startswith(f"{local}  tester  claude_code  infra ")
    assert second.split("  ")[0] != "" and " shop " in second
    cols = [head.index(h) for h in ("USER", "AGENT", "PROJECT", "PROMPTS", "FIRST PROMPT")]
    for line, prompts, text in ((first, "1", "why is the kafka"), (second, "2", "rotate keys")):
        assert [line[c:].split()[0] for c in cols[:-1]][-1] == prompts
        assert line[cols[-1] :].startswith(text)


def test_stored_text_is_escaped_and_the_prompt_cut_to_the_width(two_sessions, capsys, monkeypatch):
    """A hostile prompt shows its controls as escapes; every line fits the terminal's width, the
    long prompt ending in ``…``."""
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["sessions"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "rotate keys \\x1b]52;c;ZXZpbA==\\x07 now \\u202eevil" in out
    monkeypatch.setenv("COLUMNS", "90")
    assert main(["sessions"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert all(len(line) <= 90 for line in lines), [len(line) for line in lines]
    assert lines[1].endswith("…") and "why is the kafka" in lines[1]


def test_json_keeps_the_old_fields_and_adds_the_new(two_sessions, capsys):
    """``--json``: path, session_id, rows, types, first, last as before, plus user, agent,
    project, prompts and first_prompt (raw text, as JSON escapes)."""
    assert main(["sessions", "--json"]) == 0
    new, old = json.loads(capsys.readouterr().out)["sessions"]
    assert {"path", "session_id", "rows", "types", "first", "last"} <= set(old)
    assert (old["session_id"], old["rows"], old["types"]) == (OLD, 2, {"user_message": 2})
    assert (old["user"], old["agent"], old["project"], old["prompts"]) == ("tester", "claude_code", "shop", 2)
    assert old["first_prompt"] == HOSTILE
    assert (new["session_id"], new["prompts"], new["project"]) == (NEW, 1, "infra")
