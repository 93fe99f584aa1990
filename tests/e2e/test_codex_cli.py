"""End to end on the real Codex CLI (npm, pinned), offline against a scripted Responses API.

Each test gives Codex a fresh HOME with ``CODEX_HOME`` = ``HOME/.codex`` holding a ``config.toml``
that points at the loopback stand-in (``tests.support.fake_responses``), runs ``lakeloop install
codex`` as a user does, and then plain ``codex exec`` with no bypass flag: lakeloop's hooks fire
only because the install recorded them as trusted. The stand-in answers with one shell call
(``exec_command``) or a message; what Codex sends back (the tool output) shows what the model saw.
Assertions are on store rows, skill versions, summaries, files and the requests the stand-in
received.
"""

from __future__ import annotations

import json
from pathlib import Path

from lakeloop import paths
from lakeloop.identity import Identity
from lakeloop.skillopt import pending
from lakeloop.skillopt.publish import push
from lakeloop.store.embedded import EmbeddedStore
from lakeloop.store.memory_types import DOC, MemoryQuery
from lakeloop.summaries import path_for
from tests.support.cli import run_lakeloop
from tests.support.fake_responses import (
    FakeResponses,
    Reply,
    after_tool,
    codex_config,
    codex_env,
    is_tool_less,
    last_tool_output,
    last_user_text,
    run_codex,
    session_id,
    whole_text,
)
from tests.support.logs import log_text
from tests.support.summaries import answer
from tests.support.waiting import wait_until

TOOL_OUT = "CODEX-TOOL-OK"
ANSWER = "I ran it: CODEX-TOOL-OK."
TERM = "CODEX-RECALL-7731"
MEMORY_MARK = "Team memory (lakeloop)"
SKILL_V1 = """---
name: db-migrate--alice
description: Run the project's database migrations with alembic.
---
# db-migrate

1. Run `alembic upgrade head`.
2. Tell the user the migration ran.

<!-- SLOW_UPDATE_START -->
Team policy: migrations run against the dev database first.
<!-- SLOW_UPDATE_END -->
"""
NEW_STEP = "Before migrating, back up the database and ask the user to confirm each step."
REACTION = "that's wrong, the migration failed and dropped my table"


def setup_codex(codex_bin: str, tmp_path: Path, base_url: str, **extra: str) -> tuple[dict[str, str], Path, Path]:
    """A fresh HOME whose ``config.toml`` points at the stand-in, lakeloop installed into it with
    ``lakeloop install codex`` (``LAKELOOP_CODEX_BIN`` names the pinned CLI); returns ``(env, home,
    project)``. Summaries are off unless ``extra`` turns them on (their model calls go to the same
    stand-in)."""
    home, project = tmp_path / "home", tmp_path / "project"
    project.mkdir()
    env = codex_env(home, **{"LAKELOOP_SUMMARIES": "0", "LAKELOOP_CODEX_BIN": codex_bin, **extra})
    (home / ".codex" / "config.toml").write_text(codex_config(base_url))
    proc = run_lakeloop("install", "codex", timeout=120, prelude="", **env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return env, home, project


def log_tail(lines: int = 40) -> str:
    """The last lines of this test's log (what a timed-out wait shows)."""
    return "--- lakeloop.log (tail) ---\n" + "\n".join(log_text().splitlines()[-lines:])


def rows_of(sid: str, user: str = "tester") -> list:
    """The stored rows of Codex session ``sid`` (empty while the store does not exist)."""
    if not paths.store_file().exists():
        return []
    with EmbeddedStore(paths.store_file()) as store:
        return store.session_rows(Identity(user).session_path(sid))


def test_codex_session_rows_are_stored_with_agent_codex(codex_bin, tmp_path, isolated_env):
    """A ``codex exec`` turn that runs one shell command becomes the same rows as a Claude Code
    turn (user_message, tool_call Bash with input and output, assistant_message), each with
    agent ``codex``; ``lakeloop sessions`` and ``lakeloop agents`` say so."""

    def model(body: dict) -> Reply:
        return Reply.text(ANSWER) if after_tool(body) else Reply.shell(f"echo {TOOL_OUT}")

    prompt = "run the check command please"
    with FakeResponses(model) as api:
        env, _home, project = setup_codex(codex_bin, tmp_path, api.base_url)
        sid, events = run_codex(codex_bin, prompt, env, project)
        assert any(e.get("item", {}).get("text") == ANSWER for e in events), events
        assert TOOL_OUT in (last_tool_output(api.requests[-1]) or "")

    rows = wait_until(lambda: (r := rows_of(sid)) and len(r) >= 3 and r, 60, "the session's three rows")
    assert [r.type for r in rows] == ["user_message", "tool_call", "assistant_message"], [r.message for r in rows]
    assert {r.agent for r in rows} == {"codex"}
    assert len({r.id for r in rows}) == 3
    user, tool, answer = (r.message for r in rows)
    assert user["content"] == prompt
    assert tool["tool_name"] == "Bash"
    assert f"echo {TOOL_OUT}" in json.loads(tool["tool_input"])["command"]
    assert TOOL_OUT in tool["tool_response"]
    assert answer["content"] == ANSWER

    sessions = run_lakeloop("sessions", "--json", timeout=60, prelude="", **env)
    assert sessions.returncode == 0, sessions.stderr
    [listed] = [s for s in json.loads(sessions.stdout)["sessions"] if s["session_id"] == sid]
    assert listed["agent"] == "codex"
    agents = run_lakeloop("agents", "--json", timeout=120, prelude="", **env)
    assert agents.returncode == 0, agents.stderr
    [codex] = [a for a in json.loads(agents.stdout) if a["agent"] == "codex"]
    assert codex["installed"] is True and codex["trusted"] is True, codex
    assert codex["version"] == "0.169.0" and codex["path"], codex
    assert "Traceback" not in paths.log_file().read_text()


def test_codex_shell_grep_on_the_memory_path_is_answered_from_the_store(codex_bin, tmp_path, isolated_env):
    """Session 1 mentions a term; in session 2 the model runs ``grep -rn TERM ~/.deeplake/memory``
    with its shell: the output Codex sends back to the model holds the term and session 1's file,
    answered from the store (the memory path does not exist on disk). SessionStart's context about
    the memory path reached the model as a developer message."""
    recall = "What was the launch codename? Look it up in team memory."

    def model(body: dict) -> Reply:
        if after_tool(body):
            return Reply.text("Found it.")
        if recall in last_user_text(body):
            return Reply.shell(f"grep -rn {TERM} ~/.deeplake/memory")
        return Reply.text("Noted.")

    with FakeResponses(model) as api:
        env, home, project = setup_codex(codex_bin, tmp_path, api.base_url)
        sid1, _ = run_codex(codex_bin, f"Please remember that the launch codename is {TERM}.", env, project)
        wait_until(lambda: any(TERM in json.dumps(r.message) for r in rows_of(sid1)), 60, "session 1's row")

        sid2, _ = run_codex(codex_bin, recall, env, project)
        assert sid2 != sid1
        follow_ups = [r for r in api.requests if session_id(r) == sid2 and after_tool(r)]
        assert follow_ups, [session_id(r) for r in api.requests]
        output = last_tool_output(follow_ups[0]) or ""
        first = next(r for r in api.requests if session_id(r) == sid2)

    assert TERM in output, output
    assert f"{home}/.deeplake/memory{Identity('tester').session_path(sid1)}" in output, output
    assert not (home / ".deeplake" / "memory").exists()
    assert MEMORY_MARK in whole_text(first), whole_text(first)[:3000]

    rows = wait_until(lambda: [r for r in rows_of(sid2) if r.type == "tool_call"], 60, "session 2's tool row")
    command = json.loads(rows[0].message["tool_input"])["command"]
    assert command.startswith("cat -- ") and ".deeplake/memory" not in command, command
    assert "Traceback" not in paths.log_file().read_text()


class SkillModel:
    """Main-agent turns of the skill test, plus the judge's and proposer's tool-less calls."""

    def __init__(self, skill_file: Path) -> None:
        self.skill_file = skill_file
        self.judge: list[dict] = []
        self.proposer: list[dict] = []

    def __call__(self, body: dict) -> Reply:
        if is_tool_less(body):
            text = whole_text(body)
            if "lakeloop's judge" in text:
                self.judge.append(body)
                return Reply.text(json.dumps({"success": 0, "confidence": 0.9, "reason": "the migration failed"}))
            if "lakeloop's skill editor" in text:
                self.proposer.append(body)
                return Reply.text(json.dumps({"edits": [{"op": "append", "text": NEW_STEP}]}))
            return Reply.text("ok")
        if after_tool(body):
            return Reply.text("I ran the migration with alembic upgrade head.")
        prompt = last_user_text(body)
        if "migrate the db" in prompt:
            return Reply.shell(f"cat {self.skill_file}")
        if REACTION in prompt:
            return Reply.text("Sorry about that, let me fix it.")
        return Reply.text("hello")


def test_codex_skill_read_then_pushback_publishes_v2_through_codex_exec(codex_bin, tmp_path, isolated_env):
    """A pulled team skill read with the shell arms the window; the pushback in ``codex exec resume``
    starts the worker, whose judge and proposer run through tool-less ``codex exec`` and publish
    v2; the judge's and proposer's runs are never captured."""
    authoring = tmp_path / "authoring" / "db-migrate"
    authoring.mkdir(parents=True)
    (authoring / "SKILL.md").write_text(SKILL_V1)
    assert push(authoring, name="db-migrate", author="alice").version == 1
    skill_file = tmp_path / "home" / ".codex" / "skills" / "db-migrate--alice" / "SKILL.md"
    model = SkillModel(skill_file)
    with FakeResponses(model) as api:
        env, _home, project = setup_codex(
            codex_bin, tmp_path, api.base_url, LAKELOOP_USER="bob", LAKELOOP_INVOCATION_BACKOFF_S="0.5"
        )
        # Session A: SessionStart pulls the team skill into $CODEX_HOME/skills.
        first_sid, _ = run_codex(codex_bin, "hello", env, project)
        wait_until(skill_file.exists, 60, "the pulled skill file", explain=log_tail)
        text = skill_file.read_text()
        assert "name: db-migrate--alice" in text and "alembic upgrade head" in text, text

        # Session B: the model reads the skill with its shell, which arms the window.
        sid, _ = run_codex(codex_bin, "migrate the db", env, project)
        wait_until(lambda: len(rows_of(sid, "bob")) >= 3, 60, "session B's rows", explain=log_tail)
        window = wait_until(lambda: pending.peek(sid), 30, "the armed window", explain=log_tail)
        assert window["skill"] == "db-migrate--alice", window

        # The pushback in the resumed session: the worker publishes v2 through codex exec.
        resumed, _ = run_codex(codex_bin, REACTION, env, project, "resume", sid)
        assert resumed == sid
        with EmbeddedStore(paths.store_file()) as store:
            v2 = wait_until(
                lambda: (s := store.current_skill("db-migrate", "alice")) and s.version == 2 and s,
                120,
                "version 2 of db-migrate--alice",
                explain=log_tail,
            )
        assert NEW_STEP in v2.body
        assert v2.body.index(NEW_STEP) < v2.body.index("<!-- SLOW_UPDATE_START -->")
        assert "lakeloop-skillopt" in v2.contributors and sid in v2.source_sessions
        assert len(model.judge) == 1 and len(model.proposer) == 1
        agent_sids = {session_id(b) for b in model.judge + model.proposer}
        assert None not in agent_sids and not agent_sids & {first_sid, sid}
        assert all(is_tool_less(b) for b in model.judge + model.proposer)

    history = run_lakeloop("skills", "history", "db-migrate--alice", "--json", timeout=60, prelude="", **env)
    assert history.returncode == 0, history.stderr
    versions = json.loads(history.stdout)["versions"]
    assert [v["version"] for v in versions][-1] == 2 and versions[-1]["by_optimizer"], versions

    # Every captured session is one the user ran; the judge's and proposer's runs left no rows.
    with EmbeddedStore(paths.store_file()) as store:
        captured = {s["session_id"] for s in store.list_sessions()}
        assert captured == {first_sid, sid}, captured
        rows = store.session_rows(Identity("bob").session_path(sid))
    assert all("lakeloop's judge" not in json.dumps(r.message) for r in rows)
    assert [r.message["content"] for r in rows if r.type == "user_message"] == ["migrate the db", REACTION]
    log = paths.log_file().read_text()
    assert "worker outcome=published" in log and "Traceback" not in log


def test_codex_session_summary_is_written_through_codex_exec(codex_bin, tmp_path, isolated_env):
    """A two-prompt Codex session's end queues its summary; the summarize job runs a tool-less
    ``codex exec`` against the stand-in and writes ``/summaries/<user>/<id>.md``; the next session of
    the project is told about it at its start (a developer message); the summariser's run is never
    captured."""
    what = "The user and the agent fixed the flaky checkout test by moving the retries."
    summariser = "You write the summary of one recorded coding-agent session"
    asked: list[dict] = []

    def model(body: dict) -> Reply:
        if is_tool_less(body) and summariser in whole_text(body):
            asked.append(body)
            return Reply.text(answer(what, "- Open a pull request."))
        return Reply.text("Done.")

    with FakeResponses(model) as api:
        env, _home, project = setup_codex(
            codex_bin, tmp_path, api.base_url, LAKELOOP_SUMMARIES="1", LAKELOOP_JOBS_LINGER_S="1"
        )
        sid1, _ = run_codex(codex_bin, "Fix the flaky checkout test.", env, project)
        assert run_codex(codex_bin, "Now move the retries into the client.", env, project, "resume", sid1)[0] == sid1
        summary_path = path_for("tester", sid1)

        def summary() -> str:
            if not paths.store_file().exists():
                return ""
            with EmbeddedStore(paths.store_file()) as store:
                docs = store.memory_query(MemoryQuery(prefixes=(summary_path,), content=True))
            return next((d.text for d in docs if d.kind == DOC and what in d.text), "")

        text = wait_until(summary, 120, "session 1's summary row", explain=log_tail)
        assert text.startswith(f"# Session {sid1}\n"), text
        assert asked and "Fix the flaky checkout test." in json.dumps(asked[-1])

        sid2, _ = run_codex(codex_bin, "What did the team do here before?", env, project)
        first = next(r for r in api.requests if session_id(r) == sid2)
        assert what in whole_text(first), whole_text(first)[:3000]

    with EmbeddedStore(paths.store_file()) as store:
        captured = {s["session_id"] for s in store.list_sessions()}
    assert captured == {sid1, sid2}, captured
    assert not captured & {session_id(b) for b in asked}
    assert "Traceback" not in paths.log_file().read_text()
