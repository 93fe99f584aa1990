"""Reaction timing: the drainer may store a prompt after the window opened, but only prompts
received after the arming are reactions."""

from __future__ import annotations

import logging
import time

from lakeloop.capture.react import react
from lakeloop.skillopt import pending

LOG = logging.getLogger("lakeloop-tests")


def test_prompt_received_before_arming_is_not_a_reaction(monkeypatch):
    """The prompt that led to the skill use is drained late (slow store): it must not spend the window."""
    monkeypatch.setenv("LAKELOOP_CLAUDE_BIN", "/nonexistent")
    received = time.time_ns()
    pending.arm("s1", "db--alice", "toolu_1", 3, 1)
    assert react({"session_id": "s1", "prompt": "migrate the db"}, LOG, received) is None
    assert pending.peek("s1")["budget"] == 3


def test_prompt_received_after_arming_is_a_reaction(monkeypatch):
    """A prompt received after the arming spends one unit and starts the worker."""
    monkeypatch.setenv("LAKELOOP_CLAUDE_BIN", "/nonexistent")
    monkeypatch.setenv("LAKELOOP_INVOCATION_BACKOFF_S", "0")  # the worker it starts ends at once
    pending.arm("s2", "db--alice", "toolu_1", 3, 1)
    received = time.time_ns()
    assert react({"session_id": "s2", "prompt": "that's wrong"}, LOG, received)
    assert pending.peek("s2")["budget"] == 2


def test_the_reaction_job_names_the_sessions_agent(monkeypatch):
    """The skill-improve job of a Codex CLI session carries ``agent`` = ``codex`` (the judge and
    proposer run through that agent); a Claude Code session's carries ``claude_code``."""
    from lakeloop.capture.parse import EntrySettings
    from tests.support.jobs import queue_rows

    monkeypatch.setenv("LAKELOOP_CLAUDE_BIN", "/nonexistent")
    monkeypatch.setenv("LAKELOOP_INVOCATION_BACKOFF_S", "0")
    for session, agent in (("s3", "codex"), ("s4", "claude")):
        pending.arm(session, "db--alice", "", 3, 1)
        settings = EntrySettings({}, agent=agent)
        assert react({"session_id": session, "prompt": "wrong"}, LOG, time.time_ns(), f"e-{session}", settings=settings)
    agents = {j.payload_dict()["session_id"]: j.payload_dict()["agent"] for j in queue_rows()}
    assert agents == {"s3": "codex", "s4": "claude_code"}
