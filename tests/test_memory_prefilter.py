"""The PreToolUse byte prefilter (``hooks.main._memory_candidate``): every payload that may touch
the memory path is parsed and checked in full; a Bash call whose command has no memory-path
spelling and no expansion that could reach a hidden directory is done with before JSON parsing."""

from __future__ import annotations

import json

import pytest

from lakeloop.hooks.main import _memory_candidate


def _bash(command: str) -> bytes:
    return json.dumps({"session_id": "s", "transcript_path": "/home/u/.claude/projects/p/s.jsonl",
                       "cwd": "/home/u/.config/proj", "permission_mode": "default",
                       "hook_event_name": "PreToolUse", "tool_name": "Bash",
                       "tool_input": {"command": command, "description": "d"}, "tool_use_id": "t"}).encode()


@pytest.mark.parametrize("command", [
    "cat ~/.deeplake/memory/index.md", "cat ~/.deep''lake/memory/x", "cat ~/.deep\\lake/memory/x",
    "cat ~/.dee*/memory/index.md", "cat ~/.deep?ake/memory/x", "cat ~/.[d]eeplake/memory/x",
    "cat ~/.*/memory/index.md", "ls ~/.d*/m*", "cd; cat .dee*/memory/index.md",
    "cat ~/.deep$(echo l)ake/memory/index.md", "cat ~/.dee{p,}lake/memory/index.md",
    "cd ~ && cat {.,x}dee*/memory", "cat `echo ~/.deeplake`/memory/x", "grep -r x ~/.deep*",
])
def test_payloads_that_may_touch_the_memory_path_are_checked(command):
    assert _memory_candidate("PreToolUse", _bash(command))


@pytest.mark.parametrize("command", ["ls -la", "git status", "ls *.py $HOME | head", "echo $PATH",
                                     "grep -rn TODO src/ | head", "cat ./README.md"])
def test_ordinary_bash_calls_skip_the_check_even_with_dots_in_the_transcript_path(command):
    assert not _memory_candidate("PreToolUse", _bash(command))


def test_other_events_are_never_candidates():
    assert not _memory_candidate("PostToolUse", _bash("cat ~/.deeplake/memory/index.md"))


def test_an_overridden_root_is_looked_for_by_its_last_component(monkeypatch):
    monkeypatch.setenv("LAKELOOP_MEMORY_PATH", "/srv/team-mem")
    assert _memory_candidate("PreToolUse", _bash("cat /srv/team-mem/index.md"))
    assert not _memory_candidate("PreToolUse", _bash("cat ~/.deeplake/credentials.json"))
    assert _memory_candidate("PreToolUse", _bash("cat x/memory-answers/a.txt"))
    monkeypatch.setenv("LAKELOOP_MEMORY_PATH", "~/.deeplake/other")
    assert _memory_candidate("PreToolUse", _bash("ls ~/.deeplake"))
