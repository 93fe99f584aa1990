"""The hook processes, run for real: ``hooks/run <Event>`` with the payload on stdin.

Rules under test: every hook exits 0 and prints nothing (stdout would reach the model);
captured events land in the store (spooled to the outbox by the hook, stored by the detached
drainer, so tests wait for the outbox to drain); bad input (malformed JSON, a JSON array, empty stdin,
an unknown event) is a clear log line, not a failure; a crash inside a handler is a
traceback in the log and still exit 0; ``LAKELOOP_CAPTURE=0`` writes no row;
``LAKELOOP_WORKER=1`` (the optimizer's own processes) writes no row and never arms;
PreToolUse arms only for a skill the pull manifest lists; a negative reaction spends the
window and starts the detached worker, which consumes its job.

Every hook is a real subprocess of the real launcher with ``LAKELOOP_PYTHON`` set to this
interpreter, fed the payloads Claude Code 2.1.330 actually sent.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lakeloop import paths
from lakeloop.outbox.spool import split_entry
from lakeloop.skillopt import pending
from lakeloop.store.base import SkillRow
from lakeloop.store.embedded import EmbeddedStore
from tests.support.hooks import run_hook
from tests.support.jobs import queue_rows
from tests.support.logs import log_text
from tests.support.payloads import first_payload, recorded_payloads
from tests.support.repo import HOOK_RUN
from tests.support.skills import write_manifest
from tests.support.waiting import wait_until

SID = "e8f2d602-bc51-4170-b4d4-df65e830a9f4"
REF = "db-migrate--alice"
NEGATIVE = "that's wrong, the migration failed and dropped my table"


def hook(event: str, payload=None, raw: bytes | None = None, **env_extra: str) -> subprocess.CompletedProcess:
    """Run ``hooks/run <event>`` on ``payload`` (or the bytes ``raw``); assert exit 0 and nothing on
    stdout or stderr (SessionStart: only its memory-path additionalContext)."""
    proc = run_hook(event, raw if raw is not None else payload, **env_extra)
    if event == "SessionStart" and proc.stdout:
        out = json.loads(proc.stdout)
        assert set(out) == {"hookSpecificOutput"}, out
        assert "additionalContext" in out["hookSpecificOutput"]
    else:
        assert proc.stdout == b""
    assert proc.stderr == b""
    return proc


def stored_rows() -> list:
    if not paths.store_file().exists():
        return []
    with EmbeddedStore(paths.store_file()) as store:
        return store.session_rows(f"/sessions/tester/tester_local_default_{SID}.jsonl")


def wait_for(predicate, timeout: float = 30.0, what: str = "condition"):
    """``wait_until`` (polling every 20 ms) whose failure also shows the end of the log."""
    try:
        return wait_until(predicate, timeout, what, step=0.02)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nlog:\n{log_text()[-3000:]}") from None


def outbox_pending() -> list[str]:
    """Spooled entries not stored yet."""
    from lakeloop import outbox

    return outbox.pending()


def wait_drained() -> None:
    """Wait until the detached drainer has stored (and, for prompts, reacted to) every spooled event."""
    wait_for(lambda: not outbox_pending(), what="the outbox to drain")


def test_launcher_is_executable():
    """Claude Code runs ``hooks/run`` directly: it must be an executable file."""
    assert HOOK_RUN.is_file() and os.access(HOOK_RUN, os.X_OK)


def test_recorded_session_every_hook_exits_0_silently_and_rows_land():
    """The whole recorded session through the real hooks: all exit 0 with no output, and the
    captured events are stored in order with their types and event names."""
    for payload in recorded_payloads():
        hook(payload["hook_event_name"], payload)
    wait_drained()
    rows = stored_rows()
    assert [(r.description, r.type) for r in rows] == [
        ("UserPromptSubmit", "user_message"),
        ("PostToolUse", "tool_call"),
        ("PostToolUse", "tool_call"),
        ("PostToolUse", "tool_call"),
        ("PostToolUse", "tool_call"),
        ("Stop", "assistant_message"),
        ("UserPromptSubmit", "user_message"),
        ("Stop", "assistant_message"),
    ]
    assert rows[1].message["tool_name"] == "Skill"
    assert json.loads(rows[1].message["tool_input"]) == {"skill": REF}
    assert rows[1].message["tool_use_id"] == "toolu_0001_Skill"
    assert rows[0].message["content"] == "migrate the db"
    assert all(r.author == "tester" and r.agent == "claude_code" for r in rows)
    assert "Traceback" not in log_text()


@pytest.mark.parametrize(
    "raw, line",
    [
        (b'{"session_id": "s", "prompt": ', "malformed JSON"),
        (b"[1, 2, 3]", "payload is list, not a JSON object"),
        (b"", "empty stdin"),
        (b"   \n", "empty stdin"),
        (b"\xff\xfe garbage", "malformed JSON"),
    ],
)
@pytest.mark.parametrize("event", ["PostToolUse", "PreToolUse"])
def test_bad_stdin_exits_0_with_a_clear_log_line(raw, line, event):
    """Malformed JSON, a JSON array or empty stdin: exit 0, nothing stored, one ERROR line saying why.
    A capture hook spools raw bytes and its drainer checks them: a bad payload is kept in
    outbox/failed/ (nothing lost), never stored."""
    hook(event, raw=raw)
    wait_drained()
    errors = wait_for(lambda: [line for line in log_text().splitlines() if " ERROR " in line], what="the error line")
    assert len(errors) == 1 and line in errors[0], log_text()
    assert stored_rows() == []
    failed = paths.data_dir() / "outbox" / "failed"
    kept = [split_entry(p.read_bytes())[2] for p in failed.glob("*.json")] if failed.is_dir() else []
    assert kept == ([raw] if event == "PostToolUse" and raw.strip() else [])


def test_unknown_event_exits_0_with_a_clear_log_line():
    """An event with no handler: exit 0, nothing stored, an ERROR line naming the event."""
    hook("NoSuchEvent", first_payload("UserPromptSubmit"))
    assert re.search(r" ERROR lakeloop\.hook\.NoSuchEvent .*unknown hook event 'NoSuchEvent'", log_text())
    assert stored_rows() == []


def test_no_event_argument_exits_0():
    """The launcher without an event argument is an unknown event: exit 0 and a log line."""
    hook("", first_payload("UserPromptSubmit"))
    assert "unknown hook event" in log_text()


def test_crash_inside_a_handler_logs_a_traceback_and_exits_0():
    """The store path is a directory, so SQLite cannot open it: SessionStart's pull raises inside
    the hook, the launcher still exits 0 silently and the log holds the traceback."""
    paths.store_file().mkdir(parents=True)
    hook("SessionStart", first_payload("SessionStart"))
    text = log_text()
    assert "hook crashed (exit 0, agent unaffected): StoreUnavailable" in text
    assert "Traceback (most recent call last)" in text
    assert "cannot open embedded store" in text


def test_crash_while_spooling_logs_a_traceback_and_exits_0():
    """A capture hook that cannot spool (the outbox path is a file) crashes into the log, exit 0."""
    paths.data_dir().mkdir(parents=True)
    (paths.data_dir() / "outbox").write_text("not a directory")
    hook("PostToolUse", first_payload("PostToolUse", "Skill"))
    text = log_text()
    assert re.search(r"hook crashed \(exit 0, agent unaffected\): (FileExistsError|NotADirectoryError|OSError)", text)
    assert "Traceback (most recent call last)" in text


def test_store_failure_keeps_the_event_for_the_next_drain():
    """When the store cannot be opened the spooled event stays in the outbox (nothing lost); capture
    hooks start no drainer while the give-up pause lasts, and once it is over a later hook's drainer
    stores both events."""
    paths.store_file().mkdir(parents=True)
    hook("PostToolUse", first_payload("PostToolUse", "Skill"))
    wait_for(lambda: "outbox: store failed" in log_text(), what="the drainer to report the store failure")
    assert len(outbox_pending()) == 1
    paths.store_file().rmdir()
    retry_after = paths.data_dir() / "outbox" / ".retry-after"
    assert retry_after.stat().st_mtime > time.time() + 10  # the pause (30 s)
    os.utime(retry_after, (0, 0))  # ... has passed
    hook("Stop", first_payload("Stop"))
    wait_drained()
    assert [r.description for r in stored_rows()] == ["PostToolUse", "Stop"]


@pytest.mark.parametrize("event, tool", [("UserPromptSubmit", None), ("PostToolUse", "Skill"), ("Stop", None)])
def test_capture_off_writes_no_row(event, tool):
    """LAKELOOP_CAPTURE=0: the event is not stored."""
    hook(event, first_payload(event, tool), LAKELOOP_CAPTURE="0")
    wait_drained()
    assert stored_rows() == []


def test_worker_processes_write_no_row_and_never_arm():
    """LAKELOOP_WORKER=1 (the judge's own agent session): no capture, no arming, no reaction."""
    write_manifest(REF)
    env = {"LAKELOOP_WORKER": "1"}
    hook("PreToolUse", first_payload("PreToolUse", "Skill"), **env)
    assert pending.peek(SID) is None
    pending.arm(SID, REF, "toolu_0001_Skill", 3)  # a window opened by the user's own session
    for event, tool in (("PostToolUse", "Skill"), ("UserPromptSubmit", None), ("Stop", None)):
        hook(event, first_payload(event, tool), **env)
    assert outbox_pending() == []  # nothing even spooled
    assert stored_rows() == []
    assert pending.peek(SID)["budget"] == 3  # the worker's prompt is not a reaction
    assert not paths.jobs_dir().exists()


def test_pre_tool_use_arms_only_for_a_manifest_skill(monkeypatch):
    """``Skill db-migrate--alice`` arms a window only once the pull manifest lists it."""
    payload = first_payload("PreToolUse", "Skill")
    hook("PreToolUse", payload)
    assert pending.peek(SID) is None
    write_manifest("deploy--bob")
    hook("PreToolUse", payload)
    assert pending.peek(SID) is None
    write_manifest(REF, version=4)
    hook("PreToolUse", payload, LAKELOOP_JUDGE_WINDOW="2")
    window = pending.peek(SID)
    assert (window["skill"], window["budget"], window["tool_use_id"], window["version"]) == (
        REF,
        2,
        "toolu_0001_Skill",
        4,
    )
    assert f"armed window skill={REF}" in log_text()


def test_other_pre_tool_use_calls_do_not_arm():
    """The recorded Bash, Read and Grep calls load no skill: no window, even with a manifest."""
    write_manifest(REF)
    for payload in recorded_payloads():
        if payload["hook_event_name"] == "PreToolUse" and payload["tool_name"] != "Skill":
            hook("PreToolUse", payload)
    assert pending.peek(SID) is None


def test_empty_prompt_is_not_a_reaction():
    """A blank prompt does not spend the window nor queue a skill-improve job."""
    pending.arm(SID, REF, "toolu_0001_Skill", 3)
    payload = first_payload("UserPromptSubmit")
    payload["prompt"] = "   "
    hook("UserPromptSubmit", payload)
    wait_drained()
    assert pending.peek(SID)["budget"] == 3
    assert not os.path.exists(paths.jobs_db()) or not [j for j in queue_rows() if j.kind == "skill-improve"]


def _arm_and_invoke():
    write_manifest(REF)
    hook("PreToolUse", first_payload("PreToolUse", "Skill"))
    hook("PostToolUse", first_payload("PostToolUse", "Skill"))
    stop = first_payload("Stop")
    hook("Stop", stop)
    wait_drained()
    assert pending.peek(SID)["budget"] == 3


def _reaction_payload():
    payload = [p for p in recorded_payloads() if p["hook_event_name"] == "UserPromptSubmit"][-1]
    assert payload["prompt"] == NEGATIVE
    return payload


def test_negative_reaction_spends_the_window_and_the_worker_runs_its_job(monkeypatch):
    """The user's next prompt spends one unit and queues a skill-improve job the detached job
    runner runs (no agent CLI here, so the judge fails and counts as success: nothing published)."""
    monkeypatch.setenv("LAKELOOP_CLAUDE_BIN", str(Path("/nonexistent") / "claude"))
    monkeypatch.setenv("LAKELOOP_INVOCATION_BACKOFF_S", "0")
    _arm_and_invoke()
    hook("UserPromptSubmit", _reaction_payload())
    pattern = re.compile(
        r"reaction session=\S+ skill=db-migrate--alice budget_left=2 reaction_chars=\d+ "
        r"job=reaction:[0-9a-f-]+ queued=new"
    )
    wait_for(lambda: pattern.search(log_text()), what="the reaction")
    assert pending.peek(SID)["budget"] == 2
    wait_for(lambda: "worker outcome=" in log_text(), what="the worker's outcome")
    text = log_text()
    assert f"worker start skill={REF} session={SID}" in text
    assert "worker outcome=judged_success" in text
    assert "counted as success" in text
    assert [r.type for r in stored_rows()].count("user_message") == 1  # the reaction was captured


FAKE_CLAUDE = """#!{python}
import json, os, sys
argv = sys.argv[1:]
prompt = sys.stdin.read()
with open(os.environ["FAKE_CLAUDE_LOG"], "a") as fh:
    fh.write(json.dumps({{"argv": argv, "worker": os.environ.get("LAKELOOP_WORKER"),
                          "prompt_in_argv": any(prompt[:40] in a for a in argv if a), "prompt": prompt}}) + "\\n")
model = argv[argv.index("--model") + 1]
if model == "haiku":
    result = json.dumps({{"success": 0, "confidence": 0.9, "reason": "the migration dropped a table"}})
else:
    result = json.dumps({{"edits": [{{"op": "append", "text": "Back up the database first."}}]}})
print(json.dumps({{"type": "result", "is_error": False, "result": result}}))
"""


def test_full_loop_with_a_fake_agent_cli_publishes_version_2(tmp_path, monkeypatch):
    """Arm, invoke, react negatively: the detached worker asks the (fake) judge and proposer through
    a tool-less, unpersisted ``claude -p`` marked LAKELOOP_WORKER=1, and publishes v2. (Every hook of
    the session has the same environment, as in Claude Code: the lingering drainer that runs the
    reaction may have been started by an earlier hook.)"""
    fake = tmp_path / "fake-claude"
    fake.write_text(FAKE_CLAUDE.format(python=sys.executable))
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    calls = tmp_path / "claude-calls.jsonl"
    with EmbeddedStore(paths.store_file()) as store:
        store.insert_skill(
            SkillRow(
                id="v1",
                name="db-migrate",
                author="alice",
                body="# DB migrate\n",
                version=1,
                scope="team",
                contributors=["alice"],
            )
        )
    monkeypatch.setenv("LAKELOOP_CLAUDE_BIN", str(fake))
    monkeypatch.setenv("FAKE_CLAUDE_LOG", str(calls))
    monkeypatch.setenv("LAKELOOP_INVOCATION_BACKOFF_S", "0")
    _arm_and_invoke()
    hook("UserPromptSubmit", _reaction_payload())
    wait_for(lambda: "worker outcome=" in log_text(), what="the worker's outcome")
    assert "worker outcome=published" in log_text(), log_text()

    with EmbeddedStore(paths.store_file()) as store:
        current = store.current_skill("db-migrate", "alice")
    assert current.version == 2
    assert current.body == "# DB migrate\n\nBack up the database first.\n"
    assert current.contributors == ["alice", "tester", "lakeloop-skillopt"]
    assert current.source_sessions == [SID]

    records = [json.loads(line) for line in calls.read_text().splitlines()]
    assert [r["argv"][r["argv"].index("--model") + 1] for r in records] == ["haiku", "sonnet"]
    for r in records:
        argv = r["argv"]
        assert argv[0] == "-p"
        assert argv[argv.index("--tools") + 1] == ""
        assert "--strict-mcp-config" in argv and "--no-session-persistence" in argv
        assert argv[argv.index("--output-format") + 1] == "json"
        assert r["worker"] == "1"
        assert r["prompt_in_argv"] is False
    assert f"USER: {NEGATIVE}" in records[0]["prompt"]
    assert len(stored_rows()) == 3  # tool call, answer, reaction


def test_lone_surrogate_in_a_prompt_is_still_captured():
    """``"\\ud800"`` is valid JSON (a JS string cut mid-emoji): the prompt is stored, not lost."""
    raw = (
        b'{"session_id": "' + SID.encode() + b'", "hook_event_name": "UserPromptSubmit", '
        b'"cwd": "/home/dev/project", "prompt": "bad \\ud800 text"}'
    )
    hook("UserPromptSubmit", raw=raw)
    wait_drained()
    (row,) = stored_rows()
    assert row.message["content"] == "bad \ud800 text"
    assert "Traceback" not in log_text()


def test_event_name_mismatch_is_handled_as_launched():
    """The launcher's event argument wins over the payload's hook_event_name (with a warning)."""
    payload = first_payload("Stop")
    payload["hook_event_name"] = "SubagentStop"
    hook("Stop", payload)
    wait_drained()
    (row,) = stored_rows()
    assert row.description == "Stop"
    assert "payload says hook_event_name='SubagentStop', launched as Stop" in log_text()


class _Stdin:
    def __init__(self, data: bytes):
        import io

        self.buffer = io.BytesIO(data)


@pytest.mark.parametrize("exc", [RuntimeError("boom"), SystemExit(3), KeyboardInterrupt()])
def test_main_in_process_returns_0_whatever_the_handler_raises(monkeypatch, fresh_log, exc):
    """``main`` catches everything a handler raises (even SystemExit and KeyboardInterrupt),
    logs it and returns 0."""
    from lakeloop.hooks import capture
    from lakeloop.hooks import main as hook_main

    def explode(*args):
        raise exc

    monkeypatch.setattr(capture, "spool", explode)
    monkeypatch.setattr(sys, "stdin", _Stdin(json.dumps(first_payload("Stop")).encode()))
    assert hook_main.main(["Stop"]) == 0
    text = fresh_log()
    if isinstance(exc, KeyboardInterrupt):
        assert "interrupted" in text
    else:
        assert f"hook crashed (exit 0, agent unaffected): {type(exc).__name__}" in text
        assert "Traceback" in text
