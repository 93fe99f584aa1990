"""Codex CLI 0.169's trust hash of a hook handler, reproduced locally
(``lakeloop.agents.codex_install.trust_hash``).

The expected values were measured on the pinned Codex: ``codex app-server``'s ``hooks/list``
``currentHash`` for the handlers below in a scratch ``$CODEX_HOME/hooks.json``. A handler without a
``timeout`` is hashed with Codex's default (600 s; SessionEnd 1 s); a matcher is part of the hash
only when set. ``test_local_hash_matches_codex`` checks the formula against the real binary too.
"""

from __future__ import annotations

import json
import os

import pytest

from lakeloop.agents.codex_install import snake, trust_hash
from lakeloop.agents.codex_rpc import AppServer

MEASURED = [
    (
        "PreToolUse",
        "python3 /x/hooklog.py PreToolUse",
        600,
        "*",
        "3b8bbfebb57e8a50a4bddadfaf6068139fc8e66e93bc1b6dd1eeb3aa12bfc5a9",
    ),
    (
        "SessionStart",
        "python3 /x/hooklog.py SessionStart",
        30,
        "startup|resume",
        "1a092b6ef61b399c3e34185bd116fc30fbf26aa664ac8fe8a69cabcb61676ef6",
    ),
    (
        "SessionEnd",
        "python3 /x/hooklog.py SessionEnd",
        1,
        None,
        "c64b357bfb1a50043c27dac1f8c2ed6ef3e5e1c1521eb5670fd4ef20dee15dff",
    ),
]


@pytest.mark.parametrize(("event", "command", "timeout", "matcher", "expected"), MEASURED)
def test_hash_matches_the_values_measured_on_codex(event, command, timeout, matcher, expected):
    """The formula gives the hashes Codex 0.169.0 reported."""
    assert trust_hash(event, command, timeout, matcher) == "sha256:" + expected


def test_every_part_of_the_handler_is_in_the_hash():
    """Command, timeout, matcher and event each change the hash (an edit makes a hook untrusted)."""
    base = trust_hash("PreToolUse", "a", 5, "*")
    assert len({base, trust_hash("PreToolUse", "b", 5, "*"), trust_hash("PreToolUse", "a", 6, "*")}) == 3
    assert trust_hash("PreToolUse", "a", 5, None) != base != trust_hash("PostToolUse", "a", 5, "*")


def test_snake_case_event_names():
    """The key's event part."""
    assert [snake(e) for e in ("PreToolUse", "UserPromptSubmit", "Stop")] == [
        "pre_tool_use",
        "user_prompt_submit",
        "stop",
    ]


def test_local_hash_matches_codex(codex_bin, tmp_path):
    """On the pinned binary, through ``lakeloop.agents.codex_rpc``: for handlers with odd
    characters (quotes, non-ASCII, a matcher, no timeout), ``hooks/list``'s ``currentHash`` is
    the local ``trust_hash``."""
    from tests.support.codex_cli import node_env

    home = tmp_path / "codex-home"
    home.mkdir()
    handlers = {
        "PreToolUse": ("'/a b/hooks/run' PreToolUse codex", 5, "*"),
        "Stop": ('echo "é ✓" \\ done', 10, None),
        "SessionEnd": ("x", None, None),
    }
    hooks = {
        event: [
            {
                **({"matcher": m} if m else {}),
                "hooks": [{"type": "command", "command": c, **({"timeout": t} if t else {})}],
            }
        ]
        for event, (c, t, m) in handlers.items()
    }
    (home / "hooks.json").write_text(json.dumps({"hooks": hooks}), encoding="utf-8")
    env = node_env({**os.environ, "CODEX_HOME": str(home)})
    with AppServer(codex_bin, env=env) as server:
        listed = server.hooks_list(str(tmp_path))
    got = {h["key"].rsplit(":", 3)[1]: h["currentHash"] for h in listed}
    defaults = {"SessionEnd": 1}
    for event, (command, timeout, matcher) in handlers.items():
        assert got[snake(event)] == trust_hash(event, command, timeout or defaults.get(event, 600), matcher)
