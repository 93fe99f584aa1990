"""When a session's summary is enqueued: the drainer's count of stored rows (every N rows, every H
hours with new rows, at least the minimum of prompts, the capturing session's own settings), and
SessionEnd (the final one; none when summaries are off, the project is excluded or the process is
lakeloop's own). At most one summary job per session, and a failing queue never reaches capture.

The in-process tests run the real drainer (``capture.drain.handlers``) on entries spooled with the
session's environment, and stop the queue's wake-up (``no_runner``): the queue's rows are the
assertion. The last ones run the SessionEnd hook as Claude Code does, runner included.
"""

from __future__ import annotations

import json
import logging

import pytest

from lakeloop.capture import drain as capture
from lakeloop.jobs import JobsUnavailable
from lakeloop.outbox import spool
from lakeloop.outbox.drainer import Drainer
from lakeloop.summaries import KIND, trigger
from lakeloop.summaries.state import State
from tests.support.capture import prompt, stop
from tests.support.hooks import run_quiet_hook
from tests.support.jobs import wait_state
from tests.support.summaries import no_runner, summary_jobs
from tests.support.summaries import rows_of as session_rows

LOG = logging.getLogger("lakeloop-tests")
SID = "7c1e5d2a-0b9f-4c51-9a8e-2f1d3c4b5a69"


@pytest.fixture
def shop(tmp_path):
    path = tmp_path / "shop"
    path.mkdir()
    return path


@pytest.fixture
def queue_only(monkeypatch):
    no_runner(monkeypatch)


def spool_turns(cwd, prompts: int, answers: int = 0, session: str = SID, **env: str) -> None:
    """Spool ``prompts`` UserPromptSubmit then ``answers`` Stop events of ``session`` in ``cwd``,
    each entry recording this process's environment plus ``env`` (as a hook does)."""
    mp = pytest.MonkeyPatch()
    try:
        for name, value in env.items():
            mp.setenv(name, value)
        for i in range(prompts):
            spool.put_raw("UserPromptSubmit", json.dumps(prompt(cwd, f"prompt {i}", session)).encode())
        for i in range(answers):
            payload = stop(cwd, f"answer {i}")
            payload["session_id"] = session
            spool.put_raw("Stop", json.dumps(payload).encode())
    finally:
        mp.undo()


def drain() -> None:
    """The real capture drainer, in this process, until the outbox is empty."""
    Drainer(capture.handlers(LOG), LOG, linger_s=0.0, sleep=lambda s: None).run()


def test_fifty_stored_rows_enqueue_one_periodic_summary(shop, queue_only):
    spool_turns(shop, prompts=2, answers=47)
    drain()
    assert summary_jobs() == []  # 49 rows
    spool_turns(shop, prompts=0, answers=1)
    drain()
    [job] = summary_jobs()
    assert job.key == f"session:{SID}" and job.state == "queued"
    payload = job.payload_dict()
    assert payload["final"] is False and payload["session_id"] == SID
    assert payload["path"].startswith("/sessions/tester/") and payload["path"].endswith(f"_{SID}.jsonl")
    assert payload["user"] == "tester"
    assert payload["project"] == "shop" and payload["min_prompts"] == 2
    spool_turns(shop, prompts=0, answers=10)  # counting starts again at the enqueue
    drain()
    assert State.open().session(SID).since_last == 10
    assert len(summary_jobs()) == 1


def test_the_capturing_sessions_settings_decide_never_the_drainers(shop, queue_only, monkeypatch):
    """``LAKELOOP_SUMMARIES=0`` recorded by the session: no summary, though the drainer's own
    environment says 1; ``LAKELOOP_SUMMARY_EVERY_N=5`` recorded by another session: its summary
    comes after 5 rows, though the drainer's says 1000."""
    spool_turns(shop, prompts=60, LAKELOOP_SUMMARIES="0")
    spool_turns(shop, prompts=5, session="s-often", LAKELOOP_SUMMARY_EVERY_N="5")
    monkeypatch.setenv("LAKELOOP_SUMMARIES", "1")
    monkeypatch.setenv("LAKELOOP_SUMMARY_EVERY_N", "1000")
    drain()
    assert [j.key for j in summary_jobs()] == ["session:s-often"]


def test_a_daily_cap_of_zero_never_enqueues_a_periodic_summary(shop, queue_only, monkeypatch):
    """``LAKELOOP_SUMMARY_MAX_PER_DAY=0`` means no summaries: the drainer still counts the rows but
    queues no job that would only wait for a day that never comes."""
    monkeypatch.setenv("LAKELOOP_SUMMARY_MAX_PER_DAY", "0")
    spool_turns(shop, prompts=60)
    drain()
    assert summary_jobs() == []
    assert State.open().session(SID).rows_stored == 60


def test_too_few_prompts_never_enqueue(shop, queue_only):
    spool_turns(shop, prompts=1, answers=80)
    drain()
    assert summary_jobs() == []


def test_an_excluded_project_gets_no_rows_and_no_summary(tmp_path, queue_only, monkeypatch):
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / ".lakeloop-ignore").touch()
    spool_turns(hidden, prompts=60)
    spool_turns(tmp_path / "payroll", prompts=60, session="s-payroll", LAKELOOP_EXCLUDE=str(tmp_path / "pay*"))
    drain()
    assert summary_jobs() == []
    assert trigger.session_ended({"session_id": SID, "cwd": str(hidden)}, LOG) is None
    monkeypatch.setenv("LAKELOOP_EXCLUDE", str(tmp_path / "pay*"))
    assert trigger.session_ended({"session_id": "s-payroll", "cwd": str(tmp_path / "payroll")}, LOG) is None
    assert summary_jobs() == []


def test_hours_pass_with_new_rows(queue_only):
    """Below N rows: a periodic summary comes once ``EVERY_HOURS`` passed since the session was first
    seen (then since the last enqueue), only when a new row was stored."""
    t0 = 1_800_000_000.0
    rows = session_rows("s-h", [("user", "a"), ("user", "b"), ("assistant", "c")])
    assert trigger.note_stored(rows[:2], LOG, now=t0) == []
    assert trigger.note_stored(rows[2:], LOG, now=t0 + 7199) == []
    assert trigger.note_stored(rows[2:], LOG, now=t0 + 7200) == ["session:s-h"]
    assert trigger.note_stored([], LOG, now=t0 + 3 * 7200) == []  # no new row: nothing
    assert trigger.note_stored(rows[2:], LOG, now=t0 + 7200 + 7199) == []
    assert trigger.note_stored(rows[2:], LOG, now=t0 + 2 * 7200) == ["session:s-h"]


def test_session_end_enqueues_the_final_summary_merged_with_a_queued_periodic_one(shop, queue_only, monkeypatch):
    spool_turns(shop, prompts=50)
    drain()
    [periodic] = summary_jobs()
    assert periodic.payload_dict()["final"] is False
    assert trigger.session_ended({"session_id": SID, "cwd": str(shop)}, LOG) == "merged"
    [job] = summary_jobs()  # still one job for the session
    payload = job.payload_dict()
    assert job.id == periodic.id and payload["final"] is True and payload["path"] == periodic.payload_dict()["path"]
    assert payload["author_env"]["LAKELOOP_USER"] == "tester" and job.next_run_at <= periodic.next_run_at
    spool_turns(shop, prompts=0, answers=50)  # a later periodic trigger never forgets the end
    drain()
    [job] = summary_jobs()
    assert job.payload_dict()["final"] is True


@pytest.mark.parametrize(
    ("env", "why"),
    [
        ({"LAKELOOP_SUMMARIES": "0"}, "summaries off"),
        ({"LAKELOOP_CAPTURE": "0"}, "capture off"),
        ({"LAKELOOP_WORKER": "1"}, "lakeloop's own agent session"),
        ({"LAKELOOP_SUMMARY_MAX_PER_DAY": "0"}, "no summary runs allowed on this machine"),
    ],
)
def test_session_end_makes_no_summary_when(shop, queue_only, monkeypatch, env, why):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert trigger.session_ended({"session_id": SID, "cwd": str(shop)}, LOG) is None, why
    assert summary_jobs() == []


def test_a_hostile_session_id_reaches_the_log_escaped_on_one_line(shop, queue_only, monkeypatch, caplog):
    """The session id is captured text: in every trigger log line (enqueued, not enqueued, turned
    off) its ESC, newlines and bidi characters are visible escapes, never raw."""
    evil = "s-1\x1b[2J\nFORGED 2026-01-01 INFO lakeloop ok\u202e"
    rows = session_rows(evil, [("user", "a")] * 50)
    with caplog.at_level(logging.INFO, logger=LOG.name):
        assert trigger.note_stored(rows, LOG) == [f"session:{evil}"]
        assert trigger.session_ended({"session_id": evil, "cwd": str(shop)}, LOG) == "merged"
        monkeypatch.setenv("LAKELOOP_SUMMARIES", "0")
        assert trigger.session_ended({"session_id": evil, "cwd": str(shop)}, LOG) is None
    lines = [r.getMessage() for r in caplog.records if r.name == LOG.name]
    assert len(lines) == 3 and all("\\x1b[2J\\nFORGED" in line for line in lines), lines
    assert not any({"\x1b", "\n", "\u202e"} & set(line) for line in lines)


def test_a_failing_queue_never_reaches_capture(shop, monkeypatch, caplog):
    def unavailable(*args, **kw):
        raise JobsUnavailable("disk full")

    monkeypatch.setattr("lakeloop.jobs.submit", unavailable)
    spool_turns(shop, prompts=50)
    with caplog.at_level(logging.WARNING):
        drain()
        assert trigger.session_ended({"session_id": SID, "cwd": str(shop)}, LOG) is None
    assert "not enqueued: disk full" in caplog.text
    monkeypatch.setattr("lakeloop.summaries.state.State.open", unavailable)
    assert trigger.note_stored(session_rows("x", [("user", "a")] * 60), LOG) == []


def test_the_session_end_hook_queues_the_final_summary_and_the_runner_runs_it(shop):
    """Through the real hook: the final job is queued and run by a detached runner; the session has
    no stored rows, so it ends done ``too_short`` without any model call. With summaries off in the
    session, the hook queues nothing."""
    run_quiet_hook("SessionEnd", {"session_id": "s-off", "cwd": str(shop), "reason": "exit"}, LAKELOOP_SUMMARIES="0")
    run_quiet_hook("SessionEnd", {"session_id": SID, "cwd": str(shop), "reason": "exit"})
    job = wait_state(f"session:{SID}", "done", kind=KIND)
    assert job.kind == KIND and job.outcome == "too_short" and job.attempts == 1
    assert [j.key for j in summary_jobs()] == [f"session:{SID}"]


def test_summary_jobs_carry_the_sessions_agent(shop, queue_only):
    """A Gemini CLI session's summary jobs (periodic from its rows, final from its SessionEnd) name
    its agent, whose CLI writes the summary; a Claude Code session's name ``claude_code``."""
    from tests.support.payloads import agent_payload

    for i in range(50):
        payload = {**agent_payload("gemini", "BeforeAgent"), "cwd": str(shop), "session_id": SID, "prompt": f"p{i}"}
        spool.put_raw("UserPromptSubmit", json.dumps(payload).encode(), agent="gemini")
    drain()
    [periodic] = summary_jobs()
    assert periodic.payload_dict()["agent"] == "gemini"
    assert trigger.session_ended({"session_id": SID, "cwd": str(shop)}, LOG, "gemini") == "merged"
    [final] = summary_jobs()
    assert final.payload_dict()["final"] is True and final.payload_dict()["agent"] == "gemini"
    trigger.session_ended({"session_id": "other", "cwd": str(shop)}, LOG)
    assert {j.payload_dict()["agent"] for j in summary_jobs()} == {"gemini", "claude_code"}


def test_the_agent_constants_are_the_agents_own():
    from lakeloop import agents
    from lakeloop.agents.base import JOB_AGENT_KEY

    assert trigger.JOB_AGENT_KEY == JOB_AGENT_KEY
    assert trigger.CLAUDE_ROW_AGENT == agents.get("claude").row_agent
