"""One hostile row a teammate stored cannot break ``sessions`` or ``search`` for the team.

A tool output nested deeper than any decoder allows, and a timestamp at the end of the
calendar (year 9999: it overflows once moved to the local time zone), are shown as text.
"""

from __future__ import annotations

import json
import time

import pytest

from lakeloop import paths
from lakeloop.capture.rows import session_row
from lakeloop.cli.main import main
from lakeloop.identity import Identity
from lakeloop.store.embedded import EmbeddedStore


def _row(i: int, message: dict, when: str):
    """A sessions row of mallory's session, built as capture builds it."""
    message = {"id": f"m{i}", "session_id": "s9", "timestamp": when, "hook_event_name": "PostToolUse", **message}
    return session_row(message, Identity("mallory"))


@pytest.fixture()
def tokyo(monkeypatch):
    """This process in a time zone ahead of UTC (``TZ`` and ``time.tzset``), restored after."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_deep_json_and_a_far_date_do_not_crash_the_commands(capsys, tokyo):
    deep = "[" * 5000 + "]" * 5000 + " kafkaneedle"
    EmbeddedStore(paths.store_file()).append_session_rows(
        [
            _row(1, {"type": "user_message", "content": "datebomb prompt"}, "9999-12-31T23:59:59Z"),
            _row(
                2,
                {"type": "tool_call", "tool_name": "Bash", "tool_input": json.dumps({"command": "x"}),
                 "tool_response": deep},
                "2026-03-01T10:00:00Z",
            ),
        ]
    )  # fmt: skip
    assert main(["sessions"]) == 0
    assert "9999-12-31" in capsys.readouterr().out
    assert main(["search", "kafkaneedle"]) == 0
    assert "kafkaneedle" in capsys.readouterr().out
    assert main(["search", "datebomb"]) == 0
    assert "datebomb" in capsys.readouterr().out
