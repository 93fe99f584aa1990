"""A Grep answer line over the answer line budget is cut around its match, and its prefix (the line
number, and the file name when file names are shown) is kept whole before the cut text, on both
stores (the embedded one and the Deeplake stand-in on a real PostgreSQL).

A session is captured through ``hooks/run UserPromptSubmit`` (a short prompt, then a very long one
holding a unique word far from its start); the Grep tool is then answered through
``hooks/run PreToolUse`` with ``-n`` on the session file alone (answer lines ``N:text``) and on
its directory (``name:N:text``). The stated ``[line cut: N chars]`` counts the characters of the
stored line, the prefix not included.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lakeloop.memory.answer import MAX_LINE_BYTES
from lakeloop.memory.tree import Tree
from lakeloop.store import open_store
from lakeloop.store.memory_types import MemoryQuery
from tests.support.capture import capture
from tests.support.hooks import SESSION_ID, pretooluse_payload, run_pretooluse
from tests.support.memory_answers import agent_sees
from tests.support.payloads import first_payload
from tests.support.waiting import wait_until

WORD = "zanzibarquux"
LONG_PROMPT = "filler " * 150 + WORD + " tail" * 60


def _session_lines() -> tuple[str, list[tuple[int, str]]] | None:
    """The captured session file's virtual path and its stored lines, once both prompts are in."""
    with open_store() as store:
        tree = Tree(store.memory_query(MemoryQuery(prefixes=("/sessions/",), content=True)))
    for vpath in tree.files_under("/sessions"):
        if vpath.endswith(f"{SESSION_ID}.jsonl") and len(tree.lines(vpath)) >= 2:
            return vpath, tree.lines(vpath)
    return None


@pytest.fixture
def session(store_kind, tmp_path):
    """The session captured through the hooks: ``(project dir, session vpath, (line number, stored
    line) of the long prompt)``."""
    project = tmp_path / "project"
    project.mkdir()
    for prompt in ("a short first prompt", LONG_PROMPT):
        payload = first_payload("UserPromptSubmit")
        payload.update(session_id=SESSION_ID, cwd=str(project), prompt=prompt)
        capture("UserPromptSubmit", payload)
    vpath, lines = wait_until(_session_lines, 60, "both prompts to be stored")
    ((number, text),) = [(n, t) for n, t in lines if WORD in t]
    assert len(text) > 2 * MAX_LINE_BYTES and text.index(WORD) > MAX_LINE_BYTES  # cut, the match far in
    return project, vpath, (number, text)


def _grep(project: Path, path: str) -> list[str]:
    """The Grep tool's content answer (``-n``) for ``WORD`` under ``path``, as the agent reads it."""
    tool_input = {"pattern": WORD, "path": path, "output_mode": "content", "-n": True}
    decision, out, proc = run_pretooluse(pretooluse_payload("Grep", tool_input, project))
    assert decision == "allow" and proc.stderr == b"", (decision, proc.stderr[-2000:])
    return agent_sees("Grep", decision, out, project).splitlines()


def _assert_cut(line: str, prefix: str, text: str) -> None:
    """``line`` is ``prefix`` then the cut window on ``text`` (the match in it) and the cut count."""
    assert len(line.encode("utf-8")) <= MAX_LINE_BYTES, line
    assert line.startswith(prefix + "…"), line[:120]
    assert WORD in line
    body = line[len(prefix) + 1 :]
    tail = f"… [line cut: {len(text)} chars]"
    assert body.endswith(tail), line[-80:]
    assert body[: -len(tail)] in text  # the window is the stored text's, nothing of the prefix in it


def test_grep_on_one_session_file_keeps_the_line_number_of_a_cut_line(session):
    project, vpath, (number, text) = session
    root = str(Path.home() / ".deeplake" / "memory")
    shown = _grep(project, root + vpath)
    assert len(shown) == 1, shown
    _assert_cut(shown[0], f"{number}:", text)


def test_grep_on_a_directory_keeps_the_file_name_and_line_number_of_a_cut_line(session):
    project, vpath, (number, text) = session
    root = str(Path.home() / ".deeplake" / "memory")
    shown = _grep(project, root + "/sessions")
    assert len(shown) == 1, shown
    _assert_cut(shown[0], f"{root}{vpath}:{number}:", text)
