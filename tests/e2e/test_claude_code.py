"""End to end on the real Claude Code (npm, pinned), offline against a scripted model on loopback.

In the loop test the plugin is installed into the test's HOME from this checkout
(``claude plugin marketplace add`` + ``install``), as a user has it, so every
``claude`` started there loads it, the judge's and proposer's plain ``claude -p``
included. Session A pulls the team skill v1; session B invokes it through the
``Skill`` tool and answers; the resumed turn's prompt is a negative reaction; the
detached worker's judge and proposer go through the same real ``claude -p``
against the same stand-in and publish v2; session C's SessionStart writes v2 into
the skills dir. Assertions are on store rows and files, and on the model requests
(which session each came from). The notice test loads the plugin with ``--plugin-dir``.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from lakeloop import paths
from lakeloop.identity import Identity
from lakeloop.skillopt import pending
from lakeloop.skillopt.publish import push
from lakeloop.store.embedded import EmbeddedStore
from tests.support.claude_code import install_plugin, offline_env
from tests.support.fake_anthropic import (
    FakeAnthropic,
    Reply,
    has_tool_result,
    is_main_agent,
    is_tool_less,
    last_user_text,
    session_id,
    system_text,
)
from tests.support.repo import REPO
from tests.support.waiting import wait_until

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


class Model:
    """The scripted model: main-agent turns, judge and proposer."""

    def __init__(self) -> None:
        self.judge_calls = 0
        self.proposer_calls = 0

    def __call__(self, request: dict) -> Reply:
        if is_tool_less(request):
            system = system_text(request)
            if "lakeloop's judge" in system:
                self.judge_calls += 1
                return Reply.text(
                    json.dumps({"success": 0, "confidence": 0.9, "reason": "the migration failed and dropped a table"})
                )
            if "lakeloop's skill editor" in system:
                self.proposer_calls += 1
                return Reply.text(json.dumps({"edits": [{"op": "append", "text": NEW_STEP}]}))
            return Reply.text("ok")
        if is_main_agent(request):
            if has_tool_result(request):
                return Reply.text("I ran the migration with alembic upgrade head.")
            prompt = last_user_text(request)
            if "migrate the db" in prompt:
                return Reply.tool_use("Skill", {"skill": "db-migrate--alice"})
            if REACTION in prompt:
                return Reply.text("Sorry about that, let me fix it.")
        return Reply.text("hello")


def agent_call_sessions(api: FakeAnthropic, marker: str) -> set[str]:
    """Session ids of the tool-less ``claude -p`` calls whose system prompt holds ``marker``."""
    return {session_id(r) or "" for r in api.message_requests if is_tool_less(r) and marker in system_text(r)}


def test_skill_improvement_loop_on_real_claude_code(claude_bin, tmp_path, isolated_env):
    """A negative reaction to a pulled org skill yields v2, and the next session pulls it; the
    judge's and proposer's own sessions, which load the installed plugin too, are never captured."""
    started = time.monotonic()
    home = tmp_path / "home"
    project = tmp_path / "project"
    project.mkdir()
    (home / ".claude").mkdir(parents=True)
    skill_dir = tmp_path / "authoring" / "db-migrate"
    skill_dir.mkdir(parents=True)
    (skill_dir / "SKILL.md").write_text(SKILL_V1)
    assert push(skill_dir, name="db-migrate", author="alice").version == 1

    model = Model()
    with FakeAnthropic(model) as api:
        env = offline_env(
            home, api.base_url, LAKELOOP_CLAUDE_BIN=claude_bin, LAKELOOP_USER="bob", LAKELOOP_INVOCATION_BACKOFF_S="0.5"
        )
        install_plugin(claude_bin, env, project)

        def claude(prompt: str, *extra: str) -> dict:
            from tests.support.claude_code import run_turn

            return run_turn(claude_bin, prompt, env, project, "Bash,Read,Grep,Skill", *extra, timeout=120)

        # Session A: SessionStart (of the installed plugin) pulls the team skill v1 into ~/.claude/skills.
        first_sid = claude("hello")["session_id"]
        skill_file = home / ".claude" / "skills" / "db-migrate--alice" / "SKILL.md"
        assert skill_file.read_text() == SKILL_V1
        manifest = json.loads(paths.manifest_file().read_text())
        assert manifest["skills"]["db-migrate--alice"]["version"] == 1

        # Session B: the agent invokes the pulled org skill and answers.
        first = claude("migrate the db")
        sid = first["session_id"]
        assert first["result"] == "I ran the migration with alembic upgrade head."
        store = EmbeddedStore(paths.store_file())
        path = Identity("bob").session_path(sid)

        def rows_of(kind):
            return [r for r in store.session_rows(path) if r.type == kind]

        wait_until(lambda: rows_of("tool_call") and rows_of("assistant_message"), 30, "session B's rows")
        [invocation] = rows_of("tool_call")
        assert invocation.message["tool_name"] == "Skill"
        assert json.loads(invocation.message["tool_input"]) == {"skill": "db-migrate--alice"}
        window = pending.peek(sid)
        assert window["skill"] == "db-migrate--alice" and window["budget"] == 3
        assert window["tool_use_id"] == invocation.message["tool_use_id"]

        # The resumed turn's prompt is a negative reaction: the detached worker publishes v2.
        second = claude(REACTION, "--resume", sid)
        assert second["session_id"] == sid
        v2 = wait_until(
            lambda: (s := store.current_skill("db-migrate", "alice")) and s.version == 2 and s,
            90,
            "version 2 of db-migrate--alice",
        )
        assert NEW_STEP in v2.body
        assert v2.body.index(NEW_STEP) < v2.body.index("<!-- SLOW_UPDATE_START -->")
        assert v2.scope == "team" and "bob" in v2.contributors and "lakeloop-skillopt" in v2.contributors
        assert sid in v2.source_sessions
        assert model.judge_calls == 1 and model.proposer_calls == 1
        assert pending.peek(sid)["budget"] == 2

        # Session C: its SessionStart writes v2 into the skills dir.
        third_sid = claude("hello again")["session_id"]
        assert skill_file.read_text() == v2.body
        assert json.loads(paths.manifest_file().read_text())["skills"]["db-migrate--alice"]["version"] == 2

        # Every event of session B was captured; the judge's and proposer's sessions never were.
        wait_until(lambda: len(rows_of("assistant_message")) == 2, 30, "the resumed turn's Stop row")
        assert [r.message["content"] for r in rows_of("user_message")] == ["migrate the db", REACTION]
        assert [r.message["content"] for r in rows_of("assistant_message")] == [
            "I ran the migration with alembic upgrade head.",
            "Sorry about that, let me fix it.",
        ]
        wait_until(
            lambda: {s["session_id"] for s in store.list_sessions()} >= {first_sid, sid, third_sid},
            30,
            "rows of sessions A, B and C",
        )
        judge_sids = agent_call_sessions(api, "lakeloop's judge")
        proposer_sids = agent_call_sessions(api, "lakeloop's skill editor")
        assert len(judge_sids) == 1 and len(proposer_sids) == 1 and "" not in judge_sids | proposer_sids
        assert not (judge_sids | proposer_sids) & {first_sid, sid, third_sid}
        captured = {s["session_id"] for s in store.list_sessions()}
        assert not captured & (judge_sids | proposer_sids), "the judge's or proposer's session was captured"
        assert captured == {first_sid, sid, third_sid}
        assert all(
            "lakeloop's judge" not in json.dumps(r.message)
            for s in store.list_sessions()
            for r in store.session_rows(s["path"])
        )
    log = paths.log_file().read_text()
    assert "worker outcome=published" in log and "Traceback" not in log
    print(f"\nend-to-end wall time: {time.monotonic() - started:.1f} s")


def test_notice_reaches_the_user_not_the_model(claude_bin, tmp_path, isolated_env):
    """A waiting notice (e.g. Deeplake out of credits) is printed by SessionStart as a systemMessage:
    no request Claude Code sends to the model contains it, and it is shown only once."""
    from lakeloop import notices

    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    text = "lakeloop-notice-7f3a: your Deeplake organisation is out of credits"
    assert notices.post("deeplake-payment-required", text)
    model = Model()
    with FakeAnthropic(model) as api:
        env = offline_env(home, api.base_url)
        for _ in range(2):
            proc = subprocess.run(
                [claude_bin, "-p", "hello", "--plugin-dir", str(REPO), "--output-format", "json"],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert proc.returncode == 0, proc.stderr[-2000:]
        assert api.message_requests, "the model was called"
        assert all("lakeloop-notice-7f3a" not in json.dumps(r) for r in api.message_requests)
    assert notices.take() == []  # shown (claimed) by the first session start
    assert "showed 1 notice(s) to the user" in paths.log_file().read_text()


def test_installed_from_marketplace_with_only_python3(claude_bin, tmp_path, isolated_env):
    """Installed with `claude plugin marketplace add` + `claude plugin install` (no LAKELOOP_PYTHON):
    the first session's hooks build the plugin's virtualenv under CLAUDE_PLUGIN_DATA in the background
    and spool its events; the next session's hooks run from that virtualenv and store both sessions."""
    import shutil

    if shutil.which("python3") is None:
        if os.environ.get("CI"):
            pytest.fail("no python3 on PATH (CI is set, so this is an error)", pytrace=False)
        pytest.skip("no python3 on PATH")
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    with FakeAnthropic(Model()) as api:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CLAUDE", "ANTHROPIC", "LAKELOOP_PYTHON", "VIRTUAL_ENV", "PYTHONPATH"))
        }
        env.update(
            HOME=str(home),
            ANTHROPIC_BASE_URL=api.base_url,
            ANTHROPIC_API_KEY="test-key",
            CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        )

        def run(*argv: str) -> subprocess.CompletedProcess:
            proc = subprocess.run(
                [claude_bin, *argv], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
            )
            assert proc.returncode == 0, proc.stdout[-1500:] + proc.stderr[-1500:]
            return proc

        # The checkout without its build outputs, virtualenvs and caches: Claude Code copies a
        # directory marketplace whole, ignored files included (users install through
        # `lakeloop install claude`, which writes a small copy; see docs/install.md).
        checkout = tmp_path / "checkout"
        shutil.copytree(
            REPO,
            checkout,
            ignore=shutil.ignore_patterns(
                ".git",
                ".venv",
                ".cache",
                ".pytest_cache",
                ".hypothesis",
                ".ruff_cache",
                ".mypy_cache",
                "__pycache__",
                "*.egg-info",
                "tests",
                "bench",
            ),
        )
        run("plugin", "marketplace", "add", str(checkout))
        run("plugin", "install", "lakeloop@lakeloop")
        first = json.loads(run("-p", "hello", "--output-format", "json").stdout)["session_id"]
        ready = wait_until(
            lambda: list(home.glob(".claude/plugins/data/*/venv/.lakeloop-ready")), 600, "the plugin's virtualenv"
        )
        assert ready[0].read_bytes() == (checkout / "hooks" / "requirements.txt").read_bytes()
        second = json.loads(run("-p", "hello again", "--output-format", "json").stdout)["session_id"]
        store = EmbeddedStore(paths.store_file())
        for sid in (first, second):
            path = Identity("tester").session_path(sid)
            wait_until(
                lambda path=path: {r.type for r in store.session_rows(path)} >= {"user_message", "assistant_message"},
                30,
                f"the rows of session {sid}",
            )
    log = paths.log_file().read_text()
    assert "building the plugin's virtualenv" in log and "spooled to the outbox" in log
