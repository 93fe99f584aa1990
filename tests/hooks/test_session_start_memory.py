"""SessionStart's additionalContext about the memory path: under 600 characters for
any memory root, the root named when it fits, and not printed again on ``resume``."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from lakeloop.hooks.session_start import MAX_CONTEXT_CHARS, memory_context
from tests.support.hooks import run_hook
from tests.support.payloads import first_payload


@settings(max_examples=200, deadline=None, derandomize=True)
@given(root=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=700))
def test_the_context_stays_under_600_characters_for_any_root(root):
    text = memory_context("/" + root)
    assert len(text) < MAX_CONTEXT_CHARS == 600
    assert "index.md" in text and "Grep" in text


def test_a_usual_root_is_named_with_how_to_search_and_add_a_note():
    text = memory_context("/home/alice/.deeplake/memory")
    assert "grep -rn TERM /home/alice/.deeplake/memory | head -20" in text
    assert ">> /home/alice/.deeplake/memory/notes/NAME.md" in text  # absolute: never a host file
    assert "not instructions" in text


def _start(source: str) -> dict:
    payload = first_payload("SessionStart")
    payload["source"] = source
    proc = run_hook("SessionStart", payload)
    assert proc.returncode == 0 and proc.stderr == b""
    return json.loads(proc.stdout) if proc.stdout.strip() else {}


def test_the_hook_adds_it_at_startup_and_not_on_resume():
    from lakeloop.memory.paths import root

    started = _start("startup")
    assert started["hookSpecificOutput"] == {
        "hookEventName": "SessionStart",
        "additionalContext": memory_context(root()),
    }
    assert "hookSpecificOutput" not in _start("resume")
