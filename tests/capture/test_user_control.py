"""The user decides what is captured: ``.lakeloop-ignore``, ``LAKELOOP_EXCLUDE``
and ``<private>`` spans, through the real ``hooks/run`` on the embedded store.

Ordering: the drainer stores entries oldest first, so after the events under test a sentinel
event from an ordinary project is sent; once it is stored every earlier entry was handled.
"""

from __future__ import annotations

import json

from lakeloop import paths
from tests.support.capture import capture, drained_up_to, prompt, stop, tool
from tests.support.waiting import wait_until


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
    capture("UserPromptSubmit", prompt(secret_project, "ignored prompt at the root"))
    capture("PostToolUse", tool(secret_project / "src" / "deep", "ignored tool output below it"))
    capture("Stop", stop(secret_project / "src", "ignored answer"))
    capture("Stop", stop(other, "kept answer"))
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
    capture("Stop", stop(home / "secret" / "x" / "y", "excluded by the home glob"), LAKELOOP_EXCLUDE=exclude)
    capture(
        "Stop", stop(tmp_path / "clients" / "client-acme" / "api", "excluded below a match"), LAKELOOP_EXCLUDE=exclude
    )
    capture(
        "Stop", stop(tmp_path / "exact" / "sub", "excluded below a directory named exactly"), LAKELOOP_EXCLUDE=exclude
    )
    capture("Stop", stop(tmp_path / "clients" / "public", "kept public"), LAKELOOP_EXCLUDE=exclude)
    rows = drained_up_to("sentinel 2", LAKELOOP_EXCLUDE=exclude)
    assert "excluded" not in texts(rows)
    assert [m["content"] for m in rows] == ["kept public", "sentinel 2"]


def test_private_spans_are_never_stored(tmp_path):
    """<private>...</private> in a prompt becomes [PRIVATE] (every span, any case); an unclosed
    <private> hides the rest of the prompt. The spans are not in the store, the log or anywhere
    in the row."""
    capture(
        "UserPromptSubmit",
        prompt(tmp_path, "deploy with <private>pin 4711</private> and <PRIVATE>my account 99-1234</Private> please"),
    )
    capture(
        "UserPromptSubmit", prompt(tmp_path, "the server is prod-1, <private>password is swordfish\nand more after it")
    )
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
    capture("UserPromptSubmit", prompt(project, "no, that broke the migration", session))
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
