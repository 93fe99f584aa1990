"""The skill loop in every agent: the pull into each installed agent's skills directory, skill use
found under any agent's root, and the judge and proposer run through the agent of the job.

* ``pull``: Claude Code's root always, plus Codex's and Gemini's directories once registered
  (``lakeloop.agents.registry``); one ``latest_skills`` read; one manifest per root; pins in
  every root; Codex's and Gemini's copies name the ref in their front matter; one change line
  per ref however many roots it reached.
* ``refs.org_skill``: a ref recorded in any of the manifests; ``ref_from_tool`` on the rows each
  agent stores (Codex ``Bash`` reading ``$CODEX_HOME/skills/<ref>/SKILL.md``, Gemini
  ``activate_skill{name}`` and ``run_shell_command``); the real PreToolUse hook arms on both.
* ``skillopt.job.run``: the job's ``agent`` (missing: Claude Code) picks the CLI of the judge and
  proposer (fake binaries), and the published version records it as ``source_agent``; a held
  proposal and its acceptance keep it.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from lakeloop import agents, paths
from lakeloop.agents import registry
from lakeloop.skillopt import job as J
from lakeloop.skillopt import pending, pins, review
from lakeloop.skillopt.pull import pull
from lakeloop.skillopt.refs import load_manifest, org_skill, ref_from_tool
from lakeloop.skillopt.worker import improve
from lakeloop.store import open_store
from tests.support.fake_agent_cli import calls, fake_cli
from tests.support.hooks import run_hook
from tests.support.optimizer import (
    BODY_V1,
    FAIL,
    LOG,
    NAME,
    PLAIN,
    REF,
    SID,
    Session,
    job,
    make_deps,
    seed_skill,
)
from tests.support.payloads import agent_payload
from tests.support.skills import write_manifest


def _register(tmp_path: Path, *names: str) -> dict[str, Path]:
    """Register ``names`` as installed (as ``lakeloop install`` does), each with a skills dir
    under ``tmp_path``; returns name -> skills dir."""
    dirs = {}
    for name in names:
        dirs[name] = tmp_path / f"{name}-skills"
        registry.record(name, {"config": str(tmp_path / f"{name}.json"), "skills_dir": str(dirs[name])})
    return dirs


def _front_matter_name(text: str) -> str:
    head = text.split("\n---\n", 1)[0]
    return next(line.split(":", 1)[1].strip() for line in head.splitlines() if line.startswith("name:"))


class _Counting:
    """A store wrapper counting ``latest_skills`` reads."""

    def __init__(self, store):
        self.store, self.reads = store, 0

    def latest_skills(self, **kw):
        self.reads += 1
        return self.store.latest_skills(**kw)

    def __getattr__(self, name):
        return getattr(self.store, name)


# -- pull ----------------------------------------------------------------------------------------


def test_pull_writes_every_registered_agent_s_root_with_one_read(tmp_path):
    """Claude Code's root gets the body as stored; Codex's and Gemini's get it with ``name:`` set
    to the ref (Gemini's activate_skill is called with that name); each root has its own manifest;
    one ``latest_skills`` read; the change is reported once."""
    dirs = _register(tmp_path, "codex", "gemini")
    with open_store() as store:
        seed_skill(store)
        counting = _Counting(store)
        result = pull(counting, LOG)
    assert counting.reads == 1
    assert result.written == [REF] and [c.ref for c in result.changes] == [REF]
    claude_copy = (paths.skills_root() / REF / "SKILL.md").read_text()
    assert claude_copy == BODY_V1
    for name, root in dirs.items():
        text = (root / REF / "SKILL.md").read_text()
        assert _front_matter_name(text) == REF
        assert text.split("\n---\n", 1)[1] == BODY_V1.split("\n---\n", 1)[1]
        assert "description: Run the project's database migrations with alembic." in text
        entry = load_manifest(paths.manifest_file(name))[REF]
        assert entry["version"] == 1 and entry["path"] == str(root / REF / "SKILL.md")
    assert load_manifest()[REF]["path"] == str(paths.skills_root() / REF / "SKILL.md")


def test_an_unregistered_agent_gets_no_folder_and_a_newly_registered_one_catches_up(tmp_path):
    """Without a registry entry no Codex/Gemini folder or manifest appears; once Codex is
    registered the next pull writes its root (the others are unchanged) without a second change
    line for a skill the user already had."""
    with open_store() as store:
        seed_skill(store)
        pull(store, LOG)
        assert not paths.manifest_file("codex").exists() and not (tmp_path / "codex-skills").exists()
        dirs = _register(tmp_path, "codex")
        second = pull(store, LOG)
        third = pull(store, LOG)
    assert (dirs["codex"] / REF / "SKILL.md").is_file()
    assert second.written == [REF] and second.changes == []
    assert third.written == [] and third.unchanged == [REF] and third.changes == []


def test_pins_are_honoured_in_every_root(tmp_path):
    """A ref pinned at v1 is written at v1 into every root while v2 is current."""
    dirs = _register(tmp_path, "codex", "gemini")
    with open_store() as store:
        seed_skill(store, 1)
        seed_skill(store, 2, body=BODY_V1 + "3. v2 step.\n")
        pins.pin(REF, 1)
        pull(store, LOG)
    for manifest in (paths.manifest_file(), paths.manifest_file("codex"), paths.manifest_file("gemini")):
        assert load_manifest(manifest)[REF]["version"] == 1
    for root in [paths.skills_root(), *dirs.values()]:
        assert "v2 step" not in (root / REF / "SKILL.md").read_text()


def test_a_root_shared_by_two_agents_is_written_once(tmp_path, monkeypatch):
    """LAKELOOP_SKILLS_DIR pointed at Codex's skills dir: one write (Claude Code's), logged."""
    dirs = _register(tmp_path, "codex")
    monkeypatch.setenv("LAKELOOP_SKILLS_DIR", str(dirs["codex"]))
    with open_store() as store:
        seed_skill(store)
        result = pull(store, LOG)
    assert result.written == [REF]
    assert (dirs["codex"] / REF / "SKILL.md").read_text() == BODY_V1
    assert not paths.manifest_file("codex").exists()


# -- refs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("agent", ["claude", "codex", "gemini"])
def test_org_skill_finds_a_ref_recorded_in_any_agent_s_manifest(tmp_path, agent):
    """The union of the manifests: a ref pulled only into one agent's root is an org skill."""
    _register(tmp_path, "codex", "gemini")
    assert org_skill(REF) is None
    write_manifest(REF, version=4, agent=agent)
    assert org_skill(REF)["version"] == 4
    assert org_skill("other--bob") is None


def test_refs_are_found_in_the_rows_each_agent_stores():
    """Codex's shell read of a pulled SKILL.md, Gemini's activate_skill and run_shell_command."""
    assert ref_from_tool("Bash", {"command": f"cat /home/u/.codex/skills/{REF}/SKILL.md"}) == REF
    assert ref_from_tool("activate_skill", {"name": REF}) == REF
    assert ref_from_tool("run_shell_command", {"command": f"sed -n 1,80p ~/.gemini/skills/{REF}/SKILL.md"}) == REF
    assert ref_from_tool("activate_skill", {"skill": REF}) is None


def test_codex_shell_read_of_its_pulled_skill_arms_the_window(tmp_path):
    """Through the real hook: Codex's ``cat $CODEX_HOME/skills/<ref>/SKILL.md`` (PreToolUse ``Bash``)
    arms when the ref is only in Codex's manifest."""
    dirs = _register(tmp_path, "codex")
    write_manifest(REF, version=2, agent="codex")
    payload = agent_payload("codex", "PreToolUse")
    payload.update(tool_name="Bash", tool_input={"command": f"cat {dirs['codex']}/{REF}/SKILL.md"})
    run_hook("PreToolUse", payload, agent="codex")
    window = pending.peek(payload["session_id"])
    assert window is not None and (window["skill"], window["version"]) == (REF, 2)


def test_gemini_activate_skill_arms_on_its_own_manifest(tmp_path):
    """Through the real hook: Gemini's ``activate_skill{name: ref}`` arms when the ref is only in
    Gemini's manifest."""
    _register(tmp_path, "gemini")
    write_manifest(REF, version=5, agent="gemini")
    payload = agent_payload("gemini", "BeforeTool")
    payload.update(tool_name="activate_skill", tool_input={"name": REF})
    run_hook("PreToolUse", payload, agent="gemini")
    window = pending.peek(payload["session_id"])
    assert window is not None and (window["skill"], window["version"]) == (REF, 5)


# -- the job runs through the session's agent ------------------------------------------------------

_JUDGE_OR_PROPOSER = {
    "claude": "system = argv[argv.index('--system-prompt') + 1]",
    "codex": "system = files['instructions']['text']",
    "gemini": "system = files['GEMINI_SYSTEM_MD']['text']",
}
_ANSWER = {
    "claude": "print(json.dumps({'is_error': False, 'result': reply}))",
    "codex": "open(argv[argv.index('-o') + 1], 'w').write(reply)",
    "gemini": "print(json.dumps({'response': reply}))",
}


def _scripted(tmp_path: Path, monkeypatch) -> None:
    """Every agent's CLI faked: the judge says failure, the proposer proposes one edit."""
    for agent_name in ("claude", "codex", "gemini"):
        body = (
            f"{_JUDGE_OR_PROPOSER[agent_name]}\n"
            f'reply = {FAIL!r} if "lakeloop\'s judge" in system else {PLAIN!r}\n'
            f"{_ANSWER[agent_name]}"
        )
        monkeypatch.setenv(agents.get(agent_name).bin_env, str(fake_cli(tmp_path / agent_name, agent_name, body)))


def _invocation(session: Session, agent: str, root: Path) -> Session:
    if agent == "codex":
        tool = {"tool_name": "Bash", "tool_input": {"command": f"cat {root}/{REF}/SKILL.md"}, "tool_response": "..."}
    elif agent == "gemini":
        tool = {"tool_name": "activate_skill", "tool_input": {"name": REF}, "tool_response": {"llmContent": "..."}}
    else:
        return session.skill()
    return session._add({"hook_event_name": "PostToolUse", "tool_use_id": "", **tool})


@pytest.mark.parametrize("agent, row_agent", [("claude", None), ("codex", "codex"), ("gemini", "gemini")])
def test_judge_and_proposer_run_through_the_job_s_agent(tmp_path, monkeypatch, agent, row_agent):
    """``skillopt.job.run`` with the payload's ``agent`` (absent: Claude Code) calls that agent's
    CLI for the judge and then the proposer (prompt on stdin, LAKELOOP_WORKER=1) and no other
    agent's; version 2 records the agent as ``source_agent``."""
    _scripted(tmp_path, monkeypatch)
    with open_store() as store:
        seed_skill(store)
        session = Session(store).user("migrate the db")
        _invocation(session, agent, tmp_path / "skills").assistant("I ran alembic upgrade head.")
    payload = {
        "session_id": SID,
        "skill": REF,
        "reaction": "that's wrong, the migration failed and dropped my table",
        "armed_version": 1,
        "user": "tester",
        "reacted_at": time.time(),
    }
    if row_agent:
        payload["agent"] = row_agent
    from lakeloop.jobs.kinds import Context

    ctx = Context(job_id=1, key="reaction:e1", attempt=1, max_attempts=1, log=LOG, deadline=time.time() + 900)
    assert J.run(payload, ctx) == "published"
    used = calls(tmp_path / agent)
    assert len(used) == 2 and all(c["worker"] == "1" for c in used)
    assert "migrate the db" in used[0]["stdin"] and all("migrate the db" not in a for a in used[0]["argv"])
    for other in {"claude", "codex", "gemini"} - {agent}:
        assert calls(tmp_path / other) == []
    with open_store() as store:
        current = store.current_skill(NAME, "alice")
    assert current.version == 2 and current.source_agent == (row_agent or "claude_code")


def test_a_held_proposal_and_its_acceptance_keep_the_session_s_agent():
    """Review ``all`` holds the change: the proposal row records the job's agent, and accepting it
    publishes a version that keeps it."""
    with open_store() as store:
        seed_skill(store)
        Session(store).standard()
        outcome = improve(job(agent="gemini"), make_deps(store, review="all"))
        assert outcome.status == "held"
        [proposal] = store.skill_rows(NAME, "alice", scope="proposal")
        assert proposal.source_agent == "gemini"
        accepted = review.accept(store, REF, proposal.id, "carol")
    assert accepted.row.source_agent == "gemini"


@pytest.mark.parametrize("value", [None, "", 7, "codexx", "claude", "Codex CLI!"])
def test_a_job_without_a_usable_agent_is_claude_code_s(value):
    """A payload from before agents were recorded, or a value no known agent's rows carry (the
    published version's ``source_agent`` is always a known one)."""
    from lakeloop.skillopt.worker import Job

    data = {"session_id": SID, "skill": REF, "reaction": "r", "agent": value}
    assert Job.from_dict(data).agent == "claude_code"
    assert Job.from_dict({**data, "agent": "gemini"}).agent == "gemini"
