"""End to end on the real Gemini CLI (npm, pinned), offline with its scripted-responses mode.

Each test gives Gemini a fresh HOME whose ``~/.gemini/settings.json`` already holds another tool's
hooks (a probe logging the raw payloads it gets, ``tests.support.gemini_script.HookProbe``), runs
``lakeloop install gemini`` as a user does, then ``gemini -p ... --fake-responses-non-strict FILE``
(``tests.support.gemini_script``): the model's turns are replayed from the file, so what the model
was sent cannot be seen; hook payloads (the probe's) and stored rows are the evidence. lakeloop's
own ``gemini`` calls (judge, proposer) go through a wrapper that hands each process the next
scripted file (``FakeQueue``).
"""

from __future__ import annotations

import json
from pathlib import Path

from lakeloop import paths
from lakeloop.identity import Identity
from lakeloop.skillopt import pending
from lakeloop.skillopt.publish import push
from lakeloop.store.embedded import EmbeddedStore
from tests.support.cli import run_lakeloop
from tests.support.gemini_script import FakeQueue, HookProbe, Turns, gemini_env, gemini_settings, run_gemini
from tests.support.logs import log_text
from tests.support.waiting import wait_until

TOOL_OUT = "GEMINI-TOOL-OK"
ANSWER = "I ran it: GEMINI-TOOL-OK."
TERM = "GEMINI-RECALL-4409"
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


class Gemini:
    """A fresh HOME with the probe's hooks in ``settings.json`` and lakeloop installed with
    ``lakeloop install gemini``; :meth:`turn` runs one scripted ``gemini -p``. Summaries are off
    (their ``gemini`` calls would take scripted files meant for the judge and proposer)."""

    def __init__(self, gemini_bin: str, tmp_path: Path, lakeloop_bin: str = "", **extra: str) -> None:
        self.bin = gemini_bin
        self.home, self.project = tmp_path / "home", tmp_path / "project"
        self.project.mkdir()
        self.scripts = tmp_path / "scripts"
        self.probe = HookProbe(tmp_path / "probe")
        hooks = {
            "BeforeAgent": [self.probe.group("BeforeAgent")],
            "BeforeTool": [self.probe.group("BeforeTool", ".*")],
        }
        settings = self.home / ".gemini" / "settings.json"
        settings.parent.mkdir(parents=True)
        settings.write_text(json.dumps(gemini_settings(hooks=hooks), indent=2) + "\n")
        self.env = gemini_env(
            self.home, LAKELOOP_SUMMARIES="0", LAKELOOP_GEMINI_BIN=lakeloop_bin or gemini_bin, **extra
        )
        proc = run_lakeloop("install", "gemini", timeout=120, prelude="", **self.env)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        self._n = 0

    def turn(self, prompt: str, turns: Turns, *extra: str) -> dict:
        """One ``gemini -p PROMPT`` replaying ``turns``; returns Gemini's JSON output."""
        self._n += 1
        responses = turns.write(self.scripts / f"run-{self._n}.jsonl")
        return run_gemini(self.bin, prompt, responses, self.env, self.project, *extra)


def log_tail(lines: int = 40) -> str:
    """The last lines of this test's log (what a timed-out wait shows)."""
    return "--- lakeloop.log (tail) ---\n" + "\n".join(log_text().splitlines()[-lines:])


def rows_of(sid: str, user: str = "tester") -> list:
    """The stored rows of Gemini session ``sid`` (empty while the store does not exist)."""
    if not paths.store_file().exists():
        return []
    with EmbeddedStore(paths.store_file()) as store:
        return store.session_rows(Identity(user).session_path(sid))


def test_gemini_session_rows_are_stored_with_agent_gemini(gemini_bin, tmp_path, isolated_env):
    """A ``gemini -p`` turn running one shell command becomes user_message, tool_call and
    assistant_message rows with agent ``gemini``; the stored prompt is the user's own text, while the
    raw BeforeAgent payload carried SessionStart's context in front of it; the other tool's hooks
    still run; ``lakeloop sessions`` and ``lakeloop agents`` say so."""
    gemini = Gemini(gemini_bin, tmp_path)
    prompt = "run the check command please"
    out = gemini.turn(prompt, Turns().shell(f"echo {TOOL_OUT}").text(ANSWER))
    sid = out["session_id"]
    assert out["response"] == ANSWER

    rows = wait_until(lambda: (r := rows_of(sid)) and len(r) >= 3 and r, 60, "the session's three rows")
    assert [r.type for r in rows] == ["user_message", "tool_call", "assistant_message"], [r.message for r in rows]
    assert {r.agent for r in rows} == {"gemini"}
    assert len({r.id for r in rows}) == 3
    user, tool, answer = (r.message for r in rows)
    assert user["content"] == prompt
    assert tool["tool_name"] == "run_shell_command"
    assert json.loads(tool["tool_input"])["command"] == f"echo {TOOL_OUT}"
    assert TOOL_OUT in json.loads(tool["tool_response"])["llmContent"]
    assert answer["content"] == ANSWER

    [raw] = gemini.probe.payloads("BeforeAgent")
    assert raw["session_id"] == sid
    assert raw["prompt"].startswith("<hook_context>") and raw["prompt"].endswith(prompt), raw["prompt"][:2000]
    assert MEMORY_MARK in raw["prompt"]  # SessionStart's context reached the model's prompt

    sessions = run_lakeloop("sessions", "--json", timeout=60, prelude="", **gemini.env)
    assert sessions.returncode == 0, sessions.stderr
    [listed] = [s for s in json.loads(sessions.stdout)["sessions"] if s["session_id"] == sid]
    assert listed["agent"] == "gemini"
    agents = run_lakeloop("agents", "--json", timeout=120, prelude="", **gemini.env)
    assert agents.returncode == 0, agents.stderr
    [entry] = [a for a in json.loads(agents.stdout) if a["agent"] == "gemini"]
    assert entry["installed"] is True and entry["trusted"] is None and entry["version"] == "0.61.0", entry
    assert "Traceback" not in paths.log_file().read_text()


def test_gemini_shell_grep_on_the_memory_path_is_answered_from_the_store(gemini_bin, tmp_path, isolated_env):
    """Session 1 mentions a term; in session 2 ``run_shell_command`` ``grep -rn TERM
    ~/.deeplake/memory`` is answered from the store (the tool's output holds the term and session 1's
    file; the memory path does not exist on disk). Gemini's ``read_file`` of the memory path is
    refused by Gemini itself before any BeforeTool hook runs."""
    gemini = Gemini(gemini_bin, tmp_path)
    home = gemini.home
    sid1 = gemini.turn(f"Please remember that the launch codename is {TERM}.", Turns().text("Noted."))["session_id"]
    wait_until(lambda: any(TERM in json.dumps(r.message) for r in rows_of(sid1)), 60, "session 1's row")

    memory_file = f"{home}/.deeplake/memory/index.md"
    turns = (
        Turns()
        .shell(f"grep -rn {TERM} ~/.deeplake/memory")
        .call("read_file", {"file_path": memory_file})
        .text("Found it.")
    )
    sid2 = gemini.turn("What was the launch codename? Look it up in team memory.", turns)["session_id"]
    assert sid2 != sid1

    tools = wait_until(lambda: [r for r in rows_of(sid2) if r.type == "tool_call"], 60, "session 2's tool row")
    assert [t.message["tool_name"] for t in tools] == ["run_shell_command"], [t.message for t in tools]
    output = json.loads(tools[0].message["tool_response"])["llmContent"]
    assert TERM in output, output
    assert f"{home}/.deeplake/memory{Identity('tester').session_path(sid1)}" in output, output
    assert not (home / ".deeplake" / "memory").exists()

    seen = [(p["tool_name"], p["tool_input"]) for p in gemini.probe.payloads("BeforeTool") if p["session_id"] == sid2]
    assert [name for name, _ in seen] == ["run_shell_command"], seen  # read_file never reached a hook
    assert "Traceback" not in paths.log_file().read_text()


def test_gemini_skill_activation_then_pushback_publishes_v2_through_gemini_p(gemini_bin, tmp_path, isolated_env):
    """``activate_skill`` of a pulled team skill arms the window; the pushback in ``gemini --resume
    ID -p`` starts the worker, whose judge and proposer run ``gemini -p`` (the scripted wrapper) and
    publish v2; their runs are never captured."""
    authoring = tmp_path / "authoring" / "db-migrate"
    authoring.mkdir(parents=True)
    (authoring / "SKILL.md").write_text(SKILL_V1)
    assert push(authoring, name="db-migrate", author="alice").version == 1
    queue = FakeQueue(tmp_path / "worker-calls", gemini_bin)
    verdict = {"success": 0, "confidence": 0.9, "reason": "the migration failed"}
    queue.add(Turns().text(json.dumps(verdict)))
    queue.add(Turns().text(json.dumps({"edits": [{"op": "append", "text": NEW_STEP}]})))
    gemini = Gemini(gemini_bin, tmp_path, str(queue.wrapper), LAKELOOP_USER="bob", LAKELOOP_INVOCATION_BACKOFF_S="0.5")
    skill_file = gemini.home / ".gemini" / "skills" / "db-migrate--alice" / "SKILL.md"

    # Session A: SessionStart pulls the team skill into ~/.gemini/skills, named by its ref.
    first_sid = gemini.turn("hello", Turns().text("hello"))["session_id"]
    wait_until(skill_file.exists, 60, "the pulled skill file", explain=log_tail)
    text = skill_file.read_text()
    assert "name: db-migrate--alice" in text and "alembic upgrade head" in text, text

    # Session B: the model activates the skill, which arms the window.
    turns = Turns().call("activate_skill", {"name": "db-migrate--alice"}).text("I ran the migration.")
    sid = gemini.turn("migrate the db", turns)["session_id"]
    wait_until(lambda: len(rows_of(sid, "bob")) >= 3, 60, "session B's rows", explain=log_tail)
    window = wait_until(lambda: pending.peek(sid), 30, "the armed window", explain=log_tail)
    assert window["skill"] == "db-migrate--alice", window
    assert queue.left() == 2  # nothing called the model for the worker yet

    # The pushback in the resumed session: the worker publishes v2 through gemini -p.
    resumed = gemini.turn(REACTION, Turns().text("Sorry about that."), "--resume", sid)
    assert resumed["session_id"] == sid
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
    calls = queue.calls()
    assert len(calls) == 2 and queue.left() == 0, calls
    (judge_argv, judge_in), (proposer_argv, proposer_in) = calls
    assert "-p" in judge_argv and "-p" in proposer_argv, calls
    assert REACTION in judge_in and "skill_md" not in judge_in
    assert "skill_md" in proposer_in and "alembic upgrade head" in proposer_in

    history = run_lakeloop("skills", "history", "db-migrate--alice", "--json", timeout=60, prelude="", **gemini.env)
    assert history.returncode == 0, history.stderr
    versions = json.loads(history.stdout)["versions"]
    assert versions[-1]["version"] == 2 and versions[-1]["by_optimizer"], versions

    # Every captured session is one the user ran; the judge's and proposer's runs left no rows.
    with EmbeddedStore(paths.store_file()) as store:
        captured = {s["session_id"] for s in store.list_sessions()}
        rows = store.session_rows(Identity("bob").session_path(sid))
    assert captured == {first_sid, sid}, captured
    assert [r.message["content"] for r in rows if r.type == "user_message"] == ["migrate the db", REACTION]
    [activation] = [r for r in rows if r.type == "tool_call"]
    assert activation.message["tool_name"] == "activate_skill"
    log = paths.log_file().read_text()
    assert "worker outcome=published" in log and "Traceback" not in log
