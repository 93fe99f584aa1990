"""The user decides what is captured (issue 7, point 3): ``.lakeloop-ignore``, ``LAKELOOP_EXCLUDE``
and ``<private>`` spans, through the real ``hooks/run`` on the embedded store.

Ordering: the drainer stores entries oldest first, so after the events under test a sentinel
event from an ordinary project is sent; once it is stored every earlier entry was handled.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

from conftest import REPO, first_payload, wait_until
from lakeloop import outbox, paths

RUN = REPO / "hooks" / "run"


def hook(event: str, payload: dict, **env: str) -> None:
    full = {**os.environ, "LAKELOOP_PYTHON": sys.executable, "LAKELOOP_DRAIN_LINGER_S": "0", **env}
    proc = subprocess.run([str(RUN), event], input=json.dumps(payload).encode(), env=full, capture_output=True,
                          timeout=60)
    assert proc.returncode == 0 and proc.stdout == b"" and proc.stderr == b""


def stored() -> list[dict]:
    if not paths.store_file().exists():
        return []
    db = sqlite3.connect(paths.store_file())
    try:
        return [json.loads(r[0]) for r in db.execute("SELECT message FROM sessions ORDER BY rowid")]
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()


def stop(cwd, text: str) -> dict:
    p = first_payload("Stop")
    p["cwd"], p["last_assistant_message"] = str(cwd), text
    return p


def prompt(cwd, text: str, session: str | None = None) -> dict:
    p = first_payload("UserPromptSubmit")
    p["cwd"], p["prompt"] = str(cwd), text
    if session:
        p["session_id"] = session
    return p


def tool(cwd, output: str) -> dict:
    p = first_payload("PostToolUse", "Bash")
    p["cwd"], p["tool_response"] = str(cwd), {"stdout": output, "stderr": ""}
    return p


def drained_up_to(sentinel: str, **env: str) -> list[dict]:
    """Send a sentinel Stop from an ordinary directory and return the rows once it is stored."""
    hook("Stop", stop(paths.data_dir().parent / "ordinary", sentinel), **env)
    rows = wait_until(lambda: (r := stored()) and any(m.get("content") == sentinel for m in r) and r, 60,
                      "the sentinel row")
    assert outbox.pending() == []
    return rows


def texts(rows: list[dict]) -> str:
    return json.dumps(rows)


def test_ignore_file_in_the_project_or_above_turns_capture_off(tmp_path):
    """A .lakeloop-ignore in the session's cwd, or in any directory above it, keeps every event of
    that project out of the store; a sibling project is captured."""
    secret_project = tmp_path / "work" / "client"
    (secret_project / "src" / "deep").mkdir(parents=True)
    (secret_project / ".lakeloop-ignore").write_text("")
    other = tmp_path / "work" / "open"
    other.mkdir()
    hook("UserPromptSubmit", prompt(secret_project, "ignored prompt at the root"))
    hook("PostToolUse", tool(secret_project / "src" / "deep", "ignored tool output below it"))
    hook("Stop", stop(secret_project / "src", "ignored answer"))
    hook("Stop", stop(other, "kept answer"))
    rows = drained_up_to("sentinel 1")
    assert "ignored" not in texts(rows)
    assert [m["content"] for m in rows] == ["kept answer", "sentinel 1"]
    log = paths.log_file().read_text()
    assert f"not captured (project excluded: .lakeloop-ignore in {secret_project})" in log


def test_exclude_globs_turn_capture_off(tmp_path, monkeypatch):
    """LAKELOOP_EXCLUDE: ':'-separated globs (~ expanded) matched against the cwd and the
    directories above it (a plain directory excludes what is below it)."""
    home = tmp_path / "home"
    (home / "secret" / "x" / "y").mkdir(parents=True)
    (tmp_path / "clients" / "client-acme" / "api").mkdir(parents=True)
    (tmp_path / "clients" / "public").mkdir(parents=True)
    (tmp_path / "exact" / "sub").mkdir(parents=True)
    exclude = f"~/secret/*:{tmp_path}/clients/client-*:{tmp_path}/exact"
    hook("Stop", stop(home / "secret" / "x" / "y", "excluded by the home glob"), LAKELOOP_EXCLUDE=exclude)
    hook("Stop", stop(tmp_path / "clients" / "client-acme" / "api", "excluded below a match"),
         LAKELOOP_EXCLUDE=exclude)
    hook("Stop", stop(tmp_path / "exact" / "sub", "excluded below a directory named exactly"),
         LAKELOOP_EXCLUDE=exclude)
    hook("Stop", stop(tmp_path / "clients" / "public", "kept public"), LAKELOOP_EXCLUDE=exclude)
    rows = drained_up_to("sentinel 2", LAKELOOP_EXCLUDE=exclude)
    assert "excluded" not in texts(rows)
    assert [m["content"] for m in rows] == ["kept public", "sentinel 2"]


def test_private_spans_are_never_stored(tmp_path):
    """<private>...</private> in a prompt becomes [PRIVATE] (every span, any case); an unclosed
    <private> hides the rest of the prompt. The spans are not in the store, the log or anywhere
    in the row."""
    hook("UserPromptSubmit", prompt(tmp_path, "deploy with <private>pin 4711</private> and "
                                              "<PRIVATE>my account 99-1234</Private> please"))
    hook("UserPromptSubmit", prompt(tmp_path, "the server is prod-1, <private>password is swordfish\n"
                                              "and more after it"))
    rows = drained_up_to("sentinel 3")
    contents = [m["content"] for m in rows if m["type"] == "user_message"]
    assert contents == ["deploy with [PRIVATE] and [PRIVATE] please", "the server is prod-1, [PRIVATE]"]
    for word in ("4711", "99-1234", "swordfish", "more after it"):
        assert word not in texts(rows) and word not in paths.log_file().read_text()


def test_an_excluded_prompt_still_counts_as_a_reaction(tmp_path, monkeypatch):
    """A prompt in an ignored project is not stored, but its reaction runs (it needs only local
    state): the open window is spent and the worker started."""
    from lakeloop.skillopt import pending

    monkeypatch.setenv("LAKELOOP_CLAUDE_BIN", "/nonexistent/claude")
    monkeypatch.setenv("LAKELOOP_INVOCATION_BACKOFF_S", "0")
    project = tmp_path / "proj"
    project.mkdir()
    (project / ".lakeloop-ignore").write_text("")
    session = "5f0e9a52-7a31-4d2c-9c55-0f7c2b1f0e11"
    pending.arm(session, "db-migrate--alice", "toolu_1", 3, 1)
    hook("UserPromptSubmit", prompt(project, "no, that broke the migration", session))
    rows = drained_up_to("sentinel 4")
    assert "broke the migration" not in texts(rows)
    assert pending.peek(session)["budget"] == 2
    wait_until(lambda: "worker outcome=" in paths.log_file().read_text(), 30, "the worker it started")


def test_the_ignore_file_lookup_is_cached_per_cwd(tmp_path):
    """The drainer looks for .lakeloop-ignore once per working directory for its life."""
    from lakeloop.redact import exclude

    project = tmp_path / "p"
    project.mkdir()
    assert exclude.excluded(str(project), []) == ""
    (project / ".lakeloop-ignore").write_text("")
    assert exclude.excluded(str(project), []) == ""  # cached: no new lookup
    exclude._ignore_cache.clear()
    assert exclude.excluded(str(project), []) == f".lakeloop-ignore in {project}"
