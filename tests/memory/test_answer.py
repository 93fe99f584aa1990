"""The memory path's PreToolUse answers, on both stores, called in process.

``lakeloop.memory.answer.handle`` is what ``hooks/run PreToolUse`` calls for a tool call on
the memory path; these tests check the decision shapes Claude Code 2.1.330 accepts (probed on
the real binary: tests/e2e/test_claude_code_memory.py), what the answer files hold, caps, ranking,
read-only refusals and notes with read-your-writes.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from lakeloop.capture.rows import session_row
from lakeloop.identity import Identity
from lakeloop.memory import answer
from lakeloop.store import open_store
from lakeloop.store.base import SkillRow

LOG = logging.getLogger("test.memory")
SID_A = "aaaaaaaa-0000-4000-8000-000000000001"
SID_B = "bbbbbbbb-0000-4000-8000-000000000002"


@pytest.fixture(params=["embedded", "deeplake"])
def store_env(request, monkeypatch):
    """Select the store through the environment, as the hook does."""
    if request.param == "deeplake":
        standin = request.getfixturevalue("deeplake")
        monkeypatch.setenv("LAKELOOP_DEEPLAKE_TOKEN", standin.token)
        monkeypatch.setenv("LAKELOOP_DEEPLAKE_ORG_ID", standin.org_id)
        monkeypatch.setenv("LAKELOOP_DEEPLAKE_WORKSPACE", standin.workspace)
        monkeypatch.setenv("LAKELOOP_DEEPLAKE_API_URL", standin.base_url)
        monkeypatch.setenv("LAKELOOP_STORE", "deeplake")
        return standin
    monkeypatch.setenv("LAKELOOP_STORE", "embedded")
    return None


def _msg(i: int, sid: str, kind: str, text: str, hour: int = 10) -> dict:
    m = {
        "id": f"{sid[:8]}-0000-4000-8000-{i:012d}",
        "session_id": sid,
        "transcript_path": "/t.jsonl",
        "cwd": "/home/alice/src/shop",
        "permission_mode": "default",
        "hook_event_name": "UserPromptSubmit" if kind == "user_message" else "PostToolUse",
        "timestamp": f"2026-11-20T{hour:02d}:00:{i:02d}.000Z",
        "type": kind,
    }
    if kind == "tool_call":
        m.update(
            tool_name="Bash",
            tool_use_id=f"toolu_{i}",
            tool_input=json.dumps({"command": "ls"}),
            tool_response=json.dumps({"stdout": text}),
        )
    else:
        m["content"] = text
    return m


def _seed(lines_a=None, lines_b=None) -> tuple[str, str]:
    ident = Identity(user="alice", org_name="acme", workspace="default")
    a = lines_a or [
        ("user_message", "please fix the flaky migration"),
        ("tool_call", "migration ok"),
        ("assistant_message", "done: migration fixed"),
    ]
    b = lines_b or [("user_message", "write the release notes"), ("assistant_message", "notes written")]
    rows = [session_row(_msg(i, SID_A, k, t), ident) for i, (k, t) in enumerate(a)]
    rows += [session_row(_msg(i, SID_B, k, t, hour=11), ident) for i, (k, t) in enumerate(b)]
    with open_store() as store:
        store.append_session_rows(rows)
        store.insert_skill(
            SkillRow(
                id="s1",
                name="db-migrate",
                author="alice",
                body="---\nname: db-migrate\n---\nRun alembic.\n",
                version=1,
                scope="team",
                description="Migrate the db",
                created_at="2026-11-19T00:00:00Z",
                updated_at="2026-11-19T00:00:00Z",
            )
        )
    return rows[0].path, rows[len(a)].path


def _root() -> str:
    from lakeloop.memory.paths import root

    return root()


def _call(tool: str, tool_input: dict, cwd: str = "/home/alice/src/shop") -> dict | None:
    payload = {
        "hook_event_name": "PreToolUse",
        "session_id": "s-now",
        "tool_name": tool,
        "tool_input": tool_input,
        "tool_use_id": "toolu_x",
        "cwd": cwd,
    }
    return answer.handle(payload, LOG)


def _allowed(out: dict | None) -> dict:
    assert out is not None, "passed through"
    spec = out["hookSpecificOutput"]
    assert spec["hookEventName"] == "PreToolUse"
    assert spec["permissionDecision"] == "allow", spec
    return spec["updatedInput"]


def _denied(out: dict | None) -> str:
    assert out is not None, "passed through"
    spec = out["hookSpecificOutput"]
    assert spec["permissionDecision"] == "deny", spec
    return spec["permissionDecisionReason"]


def _answer_text(path: str) -> str:
    p = Path(path)
    assert p.parent.name == "memory-answers"
    assert (p.stat().st_mode & 0o777) == 0o600
    return p.read_text(encoding="utf-8")


def test_read_of_a_session_file_is_redirected_to_its_lines_oldest_first(store_env):
    path_a, _ = _seed()
    upd = _allowed(_call("Read", {"file_path": _root() + path_a, "offset": 2, "limit": 1}))
    assert set(upd) == {"file_path", "offset", "limit"} and upd["offset"] == 2 and upd["limit"] == 1
    lines = _answer_text(upd["file_path"]).splitlines()
    assert [json.loads(x)["type"] for x in lines] == ["user_message", "tool_call", "assistant_message"]
    assert "flaky migration" in lines[0]


def test_read_of_a_directory_lists_it_and_index_md_lists_sessions_and_skills(store_env):
    path_a, path_b = _seed()
    listing = _answer_text(_allowed(_call("Read", {"file_path": _root()}))["file_path"])
    assert "index.md" in listing and "sessions/" in listing and "skills/" in listing
    users = _answer_text(_allowed(_call("Read", {"file_path": _root() + "/sessions/alice"}))["file_path"])
    assert path_a.rsplit("/", 1)[1] in users and path_b.rsplit("/", 1)[1] in users
    index = _answer_text(_allowed(_call("Read", {"file_path": _root() + "/index.md"}))["file_path"])
    assert index.index("write the release notes") < index.index("please fix the flaky migration")  # newest first
    assert "db-migrate--alice" in index
    skill = _answer_text(
        _allowed(_call("Read", {"file_path": _root() + "/skills/db-migrate--alice/SKILL.md"}))["file_path"]
    )
    assert skill == "---\nname: db-migrate\n---\nRun alembic.\n"


def test_read_of_a_missing_file_or_a_dotdot_path_is_denied_with_guidance(store_env):
    _seed()
    assert "index.md" in _denied(_call("Read", {"file_path": _root() + "/sessions/nobody/x.jsonl"}))
    assert "'..'" in _denied(_call("Grep", {"pattern": "x", "path": _root() + "/sessions/../../.ssh"}))


def test_grep_content_answer_is_gnu_formatted_and_printed_verbatim(store_env):
    path_a, _ = _seed()
    upd = _allowed(
        _call("Grep", {"pattern": "migration", "path": _root() + "/sessions", "output_mode": "content", "-n": True})
    )
    assert upd["pattern"] == "^" and upd["output_mode"] == "content" and upd["-n"] is False and upd["head_limit"] == 0
    lines = _answer_text(upd["path"]).splitlines()
    real = _root() + path_a
    assert [x.split(":", 2)[:2] for x in lines] == [[real, "1"], [real, "2"], [real, "3"]]
    assert all(len(x.encode()) <= answer.MAX_LINE_BYTES for x in lines)


def test_grep_without_matches_answers_an_empty_file(store_env):
    _seed()
    upd = _allowed(_call("Grep", {"pattern": "nothing-like-this", "path": _root()}))
    assert _answer_text(upd["path"]) == ""


def test_grep_files_with_matches_lists_the_best_match_first(store_env):
    ident = Identity(user="bob", org_name="acme", workspace="default")
    rows = []
    for n, sid in (
        (1, "11111111-0000-4000-8000-00000000000a"),
        (6, "22222222-0000-4000-8000-00000000000b"),
        (3, "33333333-0000-4000-8000-00000000000c"),
    ):
        for i in range(6):
            word = "kraken" if i < n else "other"
            rows.append(session_row(_msg(i, sid, "user_message", f"{word} words here {word}"), ident))
    with open_store() as store:
        store.append_session_rows(rows)
    upd = _allowed(_call("Grep", {"pattern": "kraken", "path": _root() + "/sessions/"}))
    names = _answer_text(upd["path"]).splitlines()
    assert [x.rsplit("_", 1)[1][:8] for x in names] == ["22222222", "33333333", "11111111"]


def test_grep_output_is_capped_with_a_line_saying_what_was_left_out(store_env):
    lines = [("user_message", f"needle number {i}") for i in range(300)]
    _seed(lines_a=lines)
    upd = _allowed(_call("Grep", {"pattern": "needle", "path": _root() + "/sessions", "output_mode": "content"}))
    text = _answer_text(upd["path"])
    got = text.splitlines()
    shown = len(got) - 1
    assert 0 < shown <= answer.MAX_LINES and len(text.encode()) - len(got[-1]) <= answer.MAX_BYTES + 1
    assert got[-1].startswith(f"[lakeloop: {300 - shown} more lines left out (cap: 250 lines, 30000 bytes)")
    assert got[0].endswith('"needle number 0"}') or "needle number 0" in got[0]


def test_a_long_matching_line_is_cut_around_the_match(store_env):
    _seed(lines_a=[("tool_call", "x" * 3000 + " the-needle " + "y" * 3000)])
    upd = _allowed(_call("Grep", {"pattern": "the-needle", "path": _root(), "output_mode": "content"}))
    (line,) = _answer_text(upd["path"]).splitlines()
    assert "the-needle" in line and len(line.encode()) <= answer.MAX_LINE_BYTES and "[line cut:" in line


def test_glob_answers_the_matching_virtual_paths(store_env):
    path_a, path_b = _seed()
    reason = _denied(_call("Glob", {"pattern": "**/*.jsonl", "path": _root()}))
    assert _root() + path_a in reason and _root() + path_b in reason and "SKILL.md" not in reason


@pytest.mark.parametrize(
    "tool,key",
    [("Write", "file_path"), ("Edit", "file_path"), ("MultiEdit", "file_path"), ("NotebookEdit", "notebook_path")],
)
def test_writes_on_the_memory_path_are_denied_with_what_to_do_instead(tool, key):
    reason = _denied(_call(tool, {key: _root() + "/notes/x.md", "content": "hi"}))
    assert "read-only" in reason and "echo" in reason and "\n" not in reason


def test_edits_of_an_answer_file_are_denied():
    from lakeloop import paths

    target = str(paths.data_dir() / "memory-answers" / "abc.txt")
    (paths.data_dir() / "memory-answers").mkdir(parents=True, exist_ok=True)
    assert "cannot be edited" in _denied(_call("Write", {"file_path": target, "content": "x"}))


def test_tool_calls_off_the_memory_path_pass_through(store_env, monkeypatch):
    assert _call("Read", {"file_path": "/etc/hostname"}) is None
    assert _call("Grep", {"pattern": "x", "path": "/home/alice/src"}) is None
    assert _call("Bash", {"command": "ls -la"}) is None
    # a sibling of the root is not inside it; under ~/.deeplake it is a guarded host path (denied),
    # beside a root elsewhere it passes through
    assert "credentials" in _denied(_call("Read", {"file_path": _root() + "x/y"}))
    monkeypatch.setenv("LAKELOOP_MEMORY_PATH", "/srv/team-mem")
    assert _call("Read", {"file_path": "/srv/team-memx/y"}) is None


def test_bash_grep_pipeline_runs_on_the_tree_and_only_cat_reaches_the_shell(store_env):
    path_a, _ = _seed()
    upd = _allowed(
        _call("Bash", {"command": "grep -rn migration ~/.deeplake/memory/sessions | head -2", "description": "search"})
    )
    cmd = upd["command"]
    assert cmd.startswith("cat -- '") and cmd.endswith(".txt'"), cmd
    out = _answer_text(cmd[len("cat -- '") : -1]).splitlines()
    assert out == [f"{_root() + path_a}:1:" + out[0].split(":", 2)[2], out[1]] and len(out) == 2
    assert "flaky migration" in out[0]


def test_bash_grep_without_a_match_exits_1_like_grep(store_env):
    _seed()
    upd = _allowed(_call("Bash", {"command": "grep -r no-such-word ~/.deeplake/memory"}))
    assert upd["command"] in ("true; exit 1",) or upd["command"].endswith("; exit 1")


def test_a_note_written_with_echo_is_read_back_in_the_same_session(store_env):
    _seed()
    _allowed(_call("Bash", {"command": "echo 'first line' > ~/.deeplake/memory/notes/todo.md"}))
    _allowed(_call("Bash", {"command": "echo second >> ~/.deeplake/memory/notes/todo.md"}))
    upd = _allowed(_call("Read", {"file_path": _root() + "/notes/todo.md"}))
    assert _answer_text(upd["file_path"]) == "first line\nsecond\n"
    with open_store() as store:
        from lakeloop.store.memory_types import MemoryQuery

        recs = [
            r
            for r in store.memory_query(MemoryQuery(prefixes=("/notes/",), content=True))
            if r.path == "/notes/todo.md"
        ]
    if store_env is None:  # embedded: no visibility lag, the row is there with author and project
        assert recs and recs[0].text == "first line\nsecond\n"
        assert recs[0].author and recs[0].project == "shop"


def test_a_note_is_seen_while_deeplake_has_not_made_it_visible_yet(deeplake, monkeypatch):
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_TOKEN", deeplake.token)
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_ORG_ID", deeplake.org_id)
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_WORKSPACE", deeplake.workspace)
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_API_URL", deeplake.base_url)
    _seed()
    deeplake.visibility_lag_s = 30.0
    _allowed(_call("Bash", {"command": "cat > ~/.deeplake/memory/notes/plan.md <<'EOF'\nstep one\nstep two\nEOF"}))
    upd = _allowed(_call("Bash", {"command": "cat ~/.deeplake/memory/notes/plan.md"}))
    assert _answer_text(upd["command"][len("cat -- '") : -1]) == "step one\nstep two\n"


def test_writes_to_generated_files_are_refused(store_env):
    _seed()
    for target in ("/index.md", "/sessions/alice/x.jsonl", "/skills/db-migrate--alice/SKILL.md"):
        reason = _denied(_call("Bash", {"command": f"echo pwned > ~/.deeplake/memory{target}"}))
        assert reason and "\n" not in reason


def test_a_store_that_cannot_answer_gives_a_deny_not_a_pass_through(monkeypatch):
    monkeypatch.setenv("LAKELOOP_STORE", "deeplake")  # no credentials: the store cannot open
    reason = _denied(_call("Read", {"file_path": _root() + "/index.md"}))
    assert "unavailable" in reason
    assert "token" not in reason.lower()


def test_answer_files_are_private_and_pruned(monkeypatch):
    import time

    first = answer.answer_file("one")
    old = time.time() - answer.ANSWER_TTL_S - 5
    os.utime(first, (old, old))
    second = answer.answer_file("two")
    assert not os.path.exists(first) and os.path.exists(second)
    assert (os.stat(os.path.dirname(second)).st_mode & 0o777) == 0o700


def test_an_answered_glob_is_logged_as_answered_not_denied(store_env, caplog):
    """A Glob answer is a deny-with-the-list in Claude Code's protocol; the log line says what
    happened for the user: ``memory Glob answered (N paths)``; a real refusal says ``denied``."""
    _seed()
    with caplog.at_level(logging.INFO, logger=LOG.name):
        _denied(_call("Glob", {"pattern": "**/*.jsonl", "path": _root()}))
        _denied(_call("Write", {"file_path": _root() + "/notes/x.md", "content": "hi"}))
    lines = [r.getMessage() for r in caplog.records]
    assert any(line.startswith("memory Glob answered (2 paths) in ") for line in lines), lines
    assert any(line.startswith("memory Write denied in ") for line in lines), lines
    assert not any("Glob deny" in line or "Glob denied" in line for line in lines)


def test_a_capped_glob_answer_counts_every_path():
    """``outcome`` counts the paths a capped list left out (cap's last line) and says 0 for none."""
    listed = answer.cap([f"/p{i}" for i in range(5)], max_lines=2)
    assert answer.outcome(answer._deny_as_answer("\n".join(listed))) == "answered (5 paths)"
    assert answer.outcome(answer._deny_as_answer("No files found")) == "answered (0 paths)"
    assert answer.outcome(answer._deny_as_answer("/only")) == "answered (1 path)"
