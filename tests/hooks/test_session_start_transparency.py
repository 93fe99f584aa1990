"""Transparency at session start (the user sees what changed in a team skill), through ``hooks/run
SessionStart`` as Claude Code runs it: when the pull changes a team skill, the user sees one line
for it in the hook's ``{"systemMessage": ...}`` (shown to the user, never added to the model's
context): version, who published it (the optimizer and from whose session, or the user), lines added
and removed against the version pulled before, and the diff command. Changes waiting for this user's
review are announced the same way. Stdout holds that JSON object and nothing else (the
additionalContext is only the memory path's fixed lines); an unchanged pull prints nothing. A pull
that outlives the hook's 2 s wait hands its lines to the next session start as a notice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from lakeloop import notices, paths
from lakeloop.hooks import session_start
from lakeloop.hooks.session_start import PULL_WAIT_S
from lakeloop.store.base import SkillRow
from lakeloop.store.embedded import EmbeddedStore
from tests.support.hooks import run_hook
from tests.support.payloads import first_payload
from tests.support.repo import REPO
from tests.support.waiting import wait_until

REF = "db-migrate--alice"
V1 = "---\nname: db-migrate\ndescription: Migrate.\n---\nRun alembic.\n"


def _hook(env: dict | None = None) -> tuple[str, float]:
    """Run ``hooks/run SessionStart``; returns (stdout, seconds). Exit 0 and empty stderr asserted."""
    started = time.monotonic()
    proc = run_hook("SessionStart", first_payload("SessionStart"), text=True, **(env or {}))
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return _user_part(proc.stdout), time.monotonic() - started


def _user_part(stdout: str) -> str:
    """``stdout`` with the memory path's additionalContext checked and removed: that
    context must be exactly the fixed lines, so nothing about skill changes reaches the model."""
    from lakeloop.hooks.session_start import memory_context
    from lakeloop.memory.paths import root

    assert stdout.endswith("\n") and stdout.count("\n") == 1, stdout
    out = json.loads(stdout)
    assert out.pop("hookSpecificOutput") == {
        "hookEventName": "SessionStart",
        "additionalContext": memory_context(root()),
    }, out
    return json.dumps(out) + "\n" if out else ""


def _shown(stdout: str) -> list[str]:
    """The systemMessage's lines; asserts stdout is exactly one JSON object holding only it."""
    assert stdout.endswith("\n") and stdout.count("\n") == 1, stdout
    out = json.loads(stdout)
    assert list(out) == ["systemMessage"], out  # the additionalContext was checked by _hook
    return out["systemMessage"].split("\n")


def _row(version: int, body: str, contributors: list[str], *, sessions=(), scope="team", id_=None) -> SkillRow:
    now = f"2026-01-0{version}T00:00:00.000000Z"
    return SkillRow(
        id=id_ or f"v{version}",
        name="db-migrate",
        author="alice",
        body=body,
        version=version,
        scope=scope,
        contributors=contributors,
        source_sessions=list(sessions),
        created_at=now,
        updated_at=now,
    )


@pytest.fixture
def store():
    s = EmbeddedStore(paths.store_file())
    yield s
    s.close()


def test_an_optimizer_version_is_announced_once_to_the_user_only(store):
    """v1 pulled (announced as new); v2 published by the optimizer from bob's session: the next
    session start's systemMessage is exactly its line with +2 -0 against v1; then silence."""
    store.insert_skill(_row(1, V1, ["alice"]))
    out, _ = _hook()
    assert _shown(out) == [f"{REF} v1 (alice): new team skill, 5 lines; lakeloop skills history {REF}"]
    assert _hook()[0] == ""  # unchanged pull: nothing printed

    store.insert_skill(
        _row(2, V1 + "Back up first.\nCheck the backup.\n", ["alice", "bob", "lakeloop-skillopt"], sessions=["s-bob"])
    )
    out, _ = _hook()
    assert _shown(out) == [f"{REF} v2 (lakeloop-skillopt, from bob's session): +2 -0 lines; lakeloop skills diff {REF}"]
    assert (paths.skills_root() / REF / "SKILL.md").read_text().endswith("Check the backup.\n")
    assert _hook()[0] == ""


def test_a_user_version_counts_against_the_pulled_version_not_local_edits(store, tmp_path):
    """alice's own v2 (pushed through the CLI) is announced as ``(alice)``; the line counts are
    against the v1 that was pulled, even though the local SKILL.md was edited in between."""
    store.insert_skill(_row(1, V1, ["alice"]))
    _hook()
    local = paths.skills_root() / REF / "SKILL.md"
    local.write_text(V1 + "my local note\nanother\nand more\n")
    d = tmp_path / "authoring" / "db-migrate"
    d.mkdir(parents=True)
    (d / "SKILL.md").write_text(V1.replace("Run alembic.", "Run `alembic upgrade head`."))
    env = {**os.environ, "PYTHONPATH": str(REPO / "plugin"), "LAKELOOP_USER": "alice"}
    subprocess.run(
        [sys.executable, "-m", "lakeloop.cli.main", "skills", "push", str(d)], env=env, check=True, capture_output=True
    )
    out, _ = _hook()
    assert _shown(out) == [f"{REF} v2 (alice): +1 -1 lines; lakeloop skills diff {REF}"]


def test_notices_and_pull_lines_share_one_system_message(store):
    """A waiting notice and the pull's line are printed as one JSON object (two would not parse)."""
    store.insert_skill(_row(1, V1, ["alice"]))
    assert notices.post("test-kind", "a waiting notice")
    lines = _shown(_hook()[0])
    assert lines == ["a waiting notice", f"{REF} v1 (alice): new team skill, 5 lines; lakeloop skills history {REF}"]


def test_changes_waiting_for_review_are_announced_to_the_author(store):
    """A proposal on alice's skill is announced to alice (once per new proposal), never to bob."""
    store.insert_skill(_row(1, V1, ["alice"]))
    _hook({"LAKELOOP_USER": "bob"})  # pulls v1
    store.insert_skill(
        _row(1, V1 + "x\n", ["alice", "bob", "lakeloop-skillopt"], sessions=["s"], scope="proposal", id_="p-1")
    )
    assert _hook({"LAKELOOP_USER": "bob"})[0] == ""
    alice = {"LAKELOOP_USER": "alice"}
    assert _shown(_hook(alice)[0]) == [f"{REF}: 1 change waiting for your review; lakeloop skills proposals"]
    assert _hook(alice)[0] == ""
    store.insert_skill(
        _row(1, V1 + "y\n", ["alice", "carol", "lakeloop-skillopt"], sessions=["t"], scope="proposal", id_="p-2")
    )
    assert _shown(_hook(alice)[0]) == [f"{REF}: 2 changes waiting for your review; lakeloop skills proposals"]


def test_a_slow_pull_hands_its_lines_to_the_next_session_start(deeplake, monkeypatch, tmp_path):
    """On a store answering in 3 s, the hook returns after its 2 s wait with nothing printed; the
    pull finishes in the background and leaves its lines as a notice, which the next session start
    shows once."""
    import lakeloop.deeplake.client as client_module
    from lakeloop.store import open_store

    monkeypatch.setattr(client_module, "_shared", None)
    for key, value in {
        "LAKELOOP_DEEPLAKE_TOKEN": deeplake.token,
        "LAKELOOP_DEEPLAKE_ORG_ID": deeplake.org_id,
        "LAKELOOP_DEEPLAKE_WORKSPACE": deeplake.workspace,
        "LAKELOOP_DEEPLAKE_API_URL": deeplake.base_url,
    }.items():
        monkeypatch.setenv(key, value)
    with open_store() as dl:
        dl.insert_skill(_row(1, V1, ["alice"]))
    deeplake.configure(latency_s=3.0)
    out, elapsed = _hook()
    assert out == "" and elapsed < PULL_WAIT_S + 2.5, (out, elapsed)
    wait_until(lambda: list((paths.data_dir() / "notices").glob("event-*.json")), 30, "the pull's notice")
    assert not list((paths.data_dir() / "session-start").glob("*.json"))  # the hook's claim was cleared
    deeplake.configure(latency_s=0.0)
    assert _shown(_hook()[0]) == [f"{REF} v1 (alice): new team skill, 5 lines; lakeloop skills history {REF}"]
    assert _hook()[0] == ""


def test_handoff_when_the_hook_stopped_waiting_first(tmp_path, fresh_log):
    """The hook gave up (claimed the handoff) before the child finished: the child posts its lines
    as a notice and the hook returns none; the next take() shows them once."""
    import logging

    log = logging.getLogger("lakeloop-tests")
    handoff = tmp_path / "handoff.json"
    assert session_start._collect(handoff, finished=False, log=log) == []
    assert session_start.hand_back(handoff, ["line a", "line b"], log) == "posted"
    assert not handoff.exists()
    assert notices.take() == ["line a\nline b"]
    assert notices.take() == []


def test_handoff_when_the_child_finished_just_after_the_wait(tmp_path):
    """The child handed its lines back just as the hook's wait ran out: the hook still reads them
    (its claim fails), nothing is posted, and the handoff file is removed."""
    import logging

    log = logging.getLogger("lakeloop-tests")
    (tmp_path / "handoffs").mkdir()
    handoff = tmp_path / "handoffs" / "handoff.json"
    assert session_start.hand_back(handoff, ["line a"], log) == "handed"
    assert session_start._collect(handoff, finished=False, log=log) == ["line a"]
    assert not handoff.exists() and list(handoff.parent.iterdir()) == []
    assert notices.take() == []


def test_a_drafted_new_skill_is_announced_as_one(store):
    """A new-skill draft (a proposal of version 0) is announced to its drafter as a new skill, not
    as a change of an existing one."""
    from lakeloop.skillopt.drafts import Draft, draft_row

    draft = Draft(name="release-notes", description="Write release notes.", body="---\nname: release-notes\n---\nx\n")
    store.insert_skill(draft_row(draft, "f" * 32, ["Bash: git log"], ["/sessions/alice/s.jsonl"], ["s"], [], "alice"))
    lines = _shown(_hook({"LAKELOOP_USER": "alice"})[0])
    assert lines == ["release-notes--alice: a new skill drafted from work you repeat; lakeloop skills proposals"]
