"""The skill optimizer's worker logic: ``lakeloop.skillopt.worker.improve``.

Rules under test (docs/skill-loop.md "Worker", seed 000):
* the invocation row may lag the store: poll 1 try + 5 retries with sleep = 3 s x attempt;
  only "not found" is retried, a query error ends the run at once; exhausted -> publish nothing;
* the invocation is the tool_call of the skill, preferring the arming tool_use_id, else the latest;
* the judge sees 3 turns before and 6 after, elided to 4000 chars, then ``USER: <reaction>``;
* an unparseable, empty or failed judgment is success; success publishes nothing;
* on failure the proposer's edits are applied and version + 1 is published append-only
  (scope team, same name/author, contributors += reacting user and the optimizer marker,
  source_sessions += session, the judge's reason as the description's note); the same edit set
  is never published twice, and earlier
  attempts are shown to the proposer; a skill already newer than the armed version is left alone.

Everything runs in-process against a real EmbeddedStore, with fake judge/proposer callables and
a recording sleep (no real waiting).
"""

from __future__ import annotations

import json
import logging
import re

import pytest

from lakeloop import config
from lakeloop.capture.rows import build_message, session_row
from lakeloop.errors import AgentError, StoreError
from lakeloop.identity import Identity
from lakeloop.skillopt import attempts, prompts
from lakeloop.skillopt import worker as W
from lakeloop.skillopt.worker import Deps, Job, build_window, improve
from lakeloop.store.base import SkillRow
from lakeloop.store.embedded import EmbeddedStore

SID = "e8f2d602-bc51-4170-b4d4-df65e830a9f4"
REF = "db-migrate--alice"
ME = Identity(user="tester")
BODY_V1 = "# DB migrate\n\n## Steps\n1. Run alembic upgrade head.\n"
FAIL = '{"success": 0, "confidence": 0.9, "reason": "the migration dropped a table"}'
EDITS = json.dumps({"edits": [{"op": "insert_after", "target": "## Steps", "text": "0. Back up the database."}]})
REACTION = "that's wrong, the migration failed and dropped my table"


class Session:
    """Writes one session's rows with strictly increasing timestamps."""

    def __init__(self, store, sid=SID):
        self.store, self.sid, self.n = store, sid, 0

    def _add(self, payload):
        self.n += 1
        payload = {"session_id": self.sid, "cwd": "/home/dev/project", **payload}
        msg = build_message(payload)
        stamp = f"2026-06-08T04:28:{self.n // 1000:02d}.{self.n % 1000:03d}000Z"
        msg["timestamp"] = stamp
        self.store.append_session_row(session_row(msg, ME))

    def user(self, text):
        self._add({"hook_event_name": "UserPromptSubmit", "prompt": text})
        return self

    def assistant(self, text):
        self._add({"hook_event_name": "Stop", "last_assistant_message": text})
        return self

    def skill(self, ref=REF, tool_use_id="toolu_arm"):
        self._add(
            {
                "hook_event_name": "PostToolUse",
                "tool_name": "Skill",
                "tool_input": {"skill": ref},
                "tool_response": {"success": True},
                "tool_use_id": tool_use_id,
            }
        )
        return self

    def tool(self, name="Bash", tool_input=None, tool_use_id="toolu_other"):
        self._add(
            {
                "hook_event_name": "PostToolUse",
                "tool_name": name,
                "tool_input": tool_input or {"command": "ls"},
                "tool_response": {"stdout": ""},
                "tool_use_id": tool_use_id,
            }
        )
        return self


class Agent:
    """A fake judge or proposer: records (prompt, system) and returns scripted replies."""

    def __init__(self, *replies):
        self.replies = list(replies)
        self.calls: list[tuple[str, str]] = []

    def __call__(self, prompt, system):
        self.calls.append((prompt, system))
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise reply
        return reply


class LaggingStore:
    """Wraps a store; the first ``hide`` session queries do not see the skill's tool_call rows
    (the insert->read lag of seed 000); ``fail`` makes every session query raise."""

    def __init__(self, inner, hide=0, fail=None):
        self.inner, self.hide, self.fail = inner, hide, fail
        self.session_queries = 0

    def session_rows(self, path, types=None, mentions=None):
        self.session_queries += 1
        if self.fail:
            raise self.fail
        rows = self.inner.session_rows(path, types, mentions)
        if self.session_queries <= self.hide:
            rows = [r for r in rows if r.type != "tool_call"]
        return rows

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture
def store(tmp_path):
    s = EmbeddedStore(tmp_path / "data" / "store.sqlite3")
    yield s
    s.close()


def seed_skill(store, version=1, body=BODY_V1, **extra):
    row = SkillRow(
        id=f"skill-v{version}",
        name="db-migrate",
        author="alice",
        body=body,
        version=version,
        scope="team",
        contributors=extra.pop("contributors", ["alice"]),
        source_sessions=extra.pop("source_sessions", ["origin-session"]),
        description="Migrate the database",
        trigger_text="migrate the db",
        created_at=f"2026-01-0{version}T00:00:00.000000Z",
        **extra,
    )
    store.insert_skill(row)
    return row


def standard_session(store):
    """The recorded session's shape: prompt, skill invocation, work, answer, reaction captured."""
    return (
        Session(store)
        .user("migrate the db")
        .skill()
        .tool()
        .assistant("I ran the migration with alembic upgrade head.")
        .user(REACTION)
    )


def make(store, judge=None, propose=None, sleeps=None, **kw):
    sleeps = [] if sleeps is None else sleeps
    deps = Deps(
        store=store,
        identity=ME,
        judge=judge or Agent(FAIL),
        propose=propose or Agent(EDITS),
        sleep=sleeps.append,
        log=logging.getLogger("lakeloop-tests"),
        **kw,
    )
    return deps, sleeps


def job(**kw):
    return Job(
        **{
            "session_id": SID,
            "skill": REF,
            "reaction": REACTION,
            "tool_use_id": "toolu_arm",
            "user": "bob",
            "armed_version": 1,
            **kw,
        }
    )


def versions(store):
    return [
        r[0]
        for r in store._db.execute(
            "SELECT version FROM skills WHERE name='db-migrate' AND author='alice' ORDER BY version"
        )
    ]


def excerpt(judge: Agent) -> str:
    return prompts.prompt_data(judge.calls[-1][0])["session_excerpt"]


# -- seed 000: polling through the insert->read lag --------------------------------------------


def test_seed000_defaults_are_one_try_plus_five_retries_of_3s_linear_backoff():
    """The numbers of seed 000: 5 retries, 3 s base; the CLI reads the base from the environment."""
    assert W.INVOCATION_RETRIES == 5
    assert W.INVOCATION_BACKOFF_S == 3.0
    assert config.invocation_backoff_s() == 3.0


def test_seed000a_invocation_found_on_third_query_then_judged_and_published(store):
    """Miss, miss, hit: exactly 3 session queries, sleeps 3 s then 6 s, then judge and publish v2."""
    seed_skill(store)
    standard_session(store)
    lagging = LaggingStore(store, hide=2)
    judge, propose = Agent(FAIL), Agent(EDITS)
    deps, sleeps = make(lagging, judge, propose)
    outcome = improve(job(), deps)
    assert lagging.session_queries == 3
    assert sleeps == [3.0, 6.0]
    assert len(judge.calls) == 1 and len(propose.calls) == 1
    assert (outcome.status, outcome.version, outcome.queries) == ("published", 2, 3)
    assert versions(store) == [1, 2]


def test_seed000b_invocation_never_appears_gives_up_after_six_queries(store):
    """Never visible (capture off): 6 queries, sleeps 3, 6, 9, 12, 15 s, nothing judged or published."""
    seed_skill(store)
    Session(store).user("migrate the db").assistant("done").user(REACTION)
    lagging = LaggingStore(store)
    judge = Agent(FAIL)
    deps, sleeps = make(lagging, judge)
    outcome = improve(job(), deps)
    assert outcome.status == "invocation_not_found"
    assert lagging.session_queries == 6 and outcome.queries == 6
    assert sleeps == [3.0, 6.0, 9.0, 12.0, 15.0]
    assert judge.calls == []
    assert versions(store) == [1]


def test_seed000c_query_error_ends_the_run_at_once(store):
    """A query error (e.g. 402 out of credits) is not retried: 1 query, no sleep, nothing published."""
    seed_skill(store)
    standard_session(store)
    lagging = LaggingStore(store, fail=StoreError("HTTP 402: balance_cents=0"))
    judge = Agent(FAIL)
    deps, sleeps = make(lagging, judge)
    outcome = improve(job(), deps)
    assert outcome.status == "store_error"
    assert lagging.session_queries == 1 and outcome.queries == 1
    assert sleeps == []
    assert judge.calls == []
    assert versions(store) == [1]


def test_backoff_base_is_injectable(store):
    """The backoff base comes from Deps (the CLI passes LAKELOOP_INVOCATION_BACKOFF_S)."""
    Session(store).user("x")
    deps, sleeps = make(LaggingStore(store), backoff_s=0.5, retries=2)
    assert improve(job(), deps).status == "invocation_not_found"
    assert sleeps == [0.5, 1.0]


def test_invocation_of_another_skill_or_session_does_not_count(store):
    """Only a tool_call loading *this* ref in *this* session is the invocation."""
    seed_skill(store)
    Session(store).user("go").skill(ref="deploy--bob").tool("Read", {"file_path": "/x/skills/other--x/SKILL.md"})
    Session(store, sid="another-session").skill()
    deps, sleeps = make(store, retries=0)
    assert improve(job(), deps).status == "invocation_not_found"


def test_invocation_by_reading_skill_md_counts(store):
    """Loading the skill by reading its SKILL.md is an invocation too."""
    seed_skill(store)
    Session(store).user("go").tool("Read", {"file_path": f"/home/dev/.claude/skills/{REF}/SKILL.md"}).assistant("ok")
    judge = Agent('{"success": 1}')
    deps, _ = make(store, judge)
    assert improve(job(tool_use_id=""), deps).status == "judged_success"
    assert len(judge.calls) == 1


# -- judgment -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        '{"success": 1, "confidence": 0.9, "reason": "done"}',
        "",
        "I think it went fine",
        '{"success": 0, "confidence": 0.2, "reason": "unsure"}',
        AgentError("agent CLI timed out after 180 s"),
    ],
)
def test_success_unparseable_low_confidence_or_failed_judge_publishes_nothing(store, reply):
    """Judge success, garbage, empty, low confidence or an AgentError: success, proposer not asked."""
    seed_skill(store)
    standard_session(store)
    propose = Agent(EDITS)
    deps, _ = make(store, Agent(reply), propose)
    outcome = improve(job(), deps)
    assert outcome.status == "judged_success"
    assert propose.calls == []
    assert versions(store) == [1]
    assert attempts.previous(REF) == []


def test_judge_gets_the_judge_system_prompt_and_the_skill(store):
    """The judge is called with the judge's system prompt and told which skill was used."""
    seed_skill(store)
    standard_session(store)
    judge = Agent('{"success": 1}')
    deps, _ = make(store, judge)
    improve(job(), deps)
    prompt, system = judge.calls[0]
    assert system == prompts.JUDGE_SYSTEM
    assert f"Team skill used: {REF}" in prompt


# -- the window -----------------------------------------------------------------------------------


def test_window_prefers_the_arming_tool_use_id(store):
    """Two invocations of the skill: the window is around the one with the arming tool_use_id."""
    s = Session(store).user("a-1").assistant("a-2").user("a-3").skill(tool_use_id="toolu_A")
    for i in range(10):
        (s.assistant if i % 2 else s.user)(f"mid-{i}")
    s.skill(tool_use_id="toolu_B").assistant("b-after")
    seed_skill(store)

    judge = Agent('{"success": 1}')
    deps, _ = make(store, judge)
    improve(job(tool_use_id="toolu_A"), deps)
    pinned = excerpt(judge)
    assert "a-1" in pinned and "mid-5" in pinned
    assert "mid-6" not in pinned and "b-after" not in pinned

    for other in ("", "toolu_unknown"):  # no pin, or pin not captured: the latest invocation
        judge = Agent('{"success": 1}')
        deps, _ = make(store, judge)
        improve(job(tool_use_id=other), deps)
        latest = excerpt(judge)
        assert "mid-7" in latest and "b-after" in latest
        assert "mid-6" not in latest and "a-1" not in latest


def test_window_has_at_most_3_turns_before_and_6_after(store):
    """Turns are user/assistant messages (tool calls are not turns): 3 before, 6 after the invocation."""
    s = Session(store)
    for i in range(5):
        s.user(f"before-{i}").tool()
    s.skill()
    for i in range(8):
        (s.assistant if i % 2 == 0 else s.user)(f"after-{i}")
        s.tool()
    rows = store.session_rows(ME.session_path(SID))
    at = W.find_invocation(rows, REF, "toolu_arm")
    window = build_window(rows, at, "it broke")
    assert window.splitlines() == [
        "USER: before-2",
        "USER: before-3",
        "USER: before-4",
        "ASSISTANT: after-0",
        "USER: after-1",
        "ASSISTANT: after-2",
        "USER: after-3",
        "ASSISTANT: after-4",
        "USER: after-5",
        "USER: it broke",
    ]


def test_window_ends_with_the_reaction_and_does_not_repeat_its_captured_copy(store):
    """The reaction is the last USER turn, once, even when its captured copy is already stored."""
    seed_skill(store)
    standard_session(store)
    judge = Agent('{"success": 1}')
    deps, _ = make(store, judge)
    improve(job(), deps)
    text = excerpt(judge)
    assert text.endswith(f"\nUSER: {REACTION}")
    assert text.count(REACTION) == 1
    assert text.splitlines() == [
        "USER: migrate the db",
        "ASSISTANT: I ran the migration with alembic upgrade head.",
        f"USER: {REACTION}",
    ]


def test_reaction_copy_followed_by_the_reply_to_it_is_not_repeated(store):
    """While the worker polls, the assistant may already have answered the reaction: the captured
    reaction and what follows it are not part of the window; the reaction still comes last, once."""
    standard_session(store).assistant("Sorry about that, let me fix it.")
    rows = store.session_rows(ME.session_path(SID))
    window = build_window(rows, W.find_invocation(rows, REF, "toolu_arm"), REACTION)
    assert window.count(REACTION) == 1
    assert window.endswith(f"\nUSER: {REACTION}")
    assert "Sorry about that" not in window


def _epoch(stamp: str) -> float:
    import datetime

    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


@pytest.mark.parametrize("time_key", ["created_at", "reacted_at"])
def test_session_going_on_after_the_reaction_copy_stays_out_of_the_window(store, time_key):
    """The session went on while the worker waited for the invocation row: after the captured copy
    of the reaction the assistant answered it and the user sent another prompt. The judge's window
    ends with the reaction, once, as the last USER turn; nothing captured after it comes before it.
    The reaction's time is the job file's ``reacted_at``, else its ``created_at``."""
    seed_skill(store)
    session = standard_session(store)
    [copy] = [r for r in store.session_rows(ME.session_path(SID)) if r.message.get("content") == REACTION]
    reacted_at = _epoch(copy.message["timestamp"]) + 0.0004  # the job is written just after the capture
    session.assistant("Sorry, restoring the table now.").user("and run it on staging too")  # 1 ms apart each
    judge = Agent('{"success": 1}')
    deps, _ = make(store, judge)
    job_file = {
        "session_id": SID,
        "skill": REF,
        "reaction": REACTION,
        "tool_use_id": "toolu_arm",
        "armed_version": 1,
        "cwd": "/home/dev/project",
        "user": "bob",
        time_key: reacted_at,
    }
    if time_key == "reacted_at":
        job_file["created_at"] = reacted_at + 60  # drained late: the job was written a minute after
    improve(Job.from_dict(job_file), deps)  # as the job file start_worker writes
    text = excerpt(judge)
    assert text.splitlines() == [
        "USER: migrate the db",
        "ASSISTANT: I ran the migration with alembic upgrade head.",
        f"USER: {REACTION}",
    ]
    assert text.count(REACTION) == 1
    assert "staging" not in text and "restoring" not in text


def test_earlier_prompt_equal_to_the_reaction_is_kept(store):
    """Only the newest user turn can be the reaction's copy: an earlier identical prompt stays."""
    Session(store).user("go").skill().user("no").assistant("retrying").user("again")
    rows = store.session_rows(ME.session_path(SID))
    assert build_window(rows, 1, "no").splitlines() == [
        "USER: go",
        "USER: no",
        "ASSISTANT: retrying",
        "USER: again",
        "USER: no",
    ]


def test_reaction_not_yet_captured_is_appended(store):
    """The reaction lags the store: when it is not captured yet it is still the last USER turn."""
    Session(store).user("migrate the db").skill().assistant("done")
    rows = store.session_rows(ME.session_path(SID))
    assert build_window(rows, 1, REACTION) == f"USER: migrate the db\nASSISTANT: done\nUSER: {REACTION}"


def test_only_the_reaction_when_there_are_no_turns(store):
    """With no user/assistant turns the window is just the reaction."""
    Session(store).skill()
    rows = store.session_rows(ME.session_path(SID))
    assert build_window(rows, 0, "bad") == "USER: bad"


def test_window_is_elided_to_4000_chars_keeping_head_and_tail(store):
    """Long turns are cut in the middle (head and tail kept) to 4000 characters before the reaction."""
    s = Session(store)
    s.user("HEAD" + "h" * 2000)
    s.skill()
    for i in range(6):
        s.assistant(f"turn-{i}" + "x" * 2000)
    s.user("y" * 2000 + "TAIL")
    rows = store.session_rows(ME.session_path(SID))
    window = build_window(rows, 1, "nope")
    body, _, last = window.rpartition("\n")
    assert last == "USER: nope"
    assert len(body) <= W.WINDOW_CHARS == 4000
    assert len(body) >= 3900
    assert body.startswith("USER: HEAD")
    assert "chars elided]" in body
    assert body.endswith("x" * 1500)  # the tail of the 6th after-turn
    assert "TAIL" not in body and "y" * 10 not in body  # the 7th after-turn is outside the window
    assert "turn-3" not in body  # the middle is gone


# -- publishing -----------------------------------------------------------------------------------


def test_failure_publishes_version_plus_one_append_only(store):
    """On failure: edits applied to the current body, v2 inserted as a new row (v1 kept), scope team,
    same name and author, contributors += reacting user + optimizer marker, source_sessions += session."""
    v1 = seed_skill(store, project="proj")
    standard_session(store)
    deps, _ = make(store)
    outcome = improve(job(user="bob"), deps)
    assert outcome.status == "published" and outcome.version == 2
    assert outcome.details == {
        "edits": [{"op": "insert_after", "target": "## Steps", "text": "0. Back up the database."}]
    }
    assert versions(store) == [1, 2]
    old = store._db.execute("SELECT body FROM skills WHERE version = 1").fetchone()[0]
    assert old == BODY_V1
    new = store.current_skill("db-migrate", "alice")
    assert new.version == 2
    assert new.body == "# DB migrate\n\n## Steps\n0. Back up the database.\n1. Run alembic upgrade head.\n"
    assert (new.name, new.author, new.scope) == ("db-migrate", "alice", "team")
    assert new.contributors == ["alice", "bob", "lakeloop-skillopt"]
    assert new.source_sessions == ["origin-session", SID]
    assert (new.trigger_text, new.project) == (v1.trigger_text, "proj")
    assert new.description == v1.description + "\n[lakeloop-skillopt] the migration dropped a table"
    assert new.id != v1.id
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", new.created_at)


def test_private_skill_is_published_as_team(store):
    """The improved version is a team skill whatever the scope of the current row."""
    store.insert_skill(SkillRow(id="x", name="db-migrate", author="alice", body=BODY_V1, scope="me"))
    standard_session(store)
    deps, _ = make(store)
    assert improve(job(), deps).status == "published"
    assert store.current_skill("db-migrate", "alice").scope == "team"


def test_contributors_not_duplicated_and_identity_user_when_job_has_none(store):
    """The reacting user defaults to the identity's user; nobody is listed twice."""
    seed_skill(store, contributors=["alice", "tester", "lakeloop-skillopt"], source_sessions=[SID])
    standard_session(store)
    deps, _ = make(store)
    improve(job(user=""), deps)
    new = store.current_skill("db-migrate", "alice")
    assert new.contributors == ["alice", "tester", "lakeloop-skillopt"]
    assert new.source_sessions == [SID]


def test_proposer_gets_body_window_reason_and_its_system_prompt(store):
    """The proposer sees the current body, the window with the reaction, the judge's reason and (no) history."""
    seed_skill(store)
    standard_session(store)
    propose = Agent(EDITS)
    deps, _ = make(store, propose=propose)
    improve(job(), deps)
    prompt, system = propose.calls[0]
    assert system == prompts.PROPOSER_SYSTEM
    data = prompts.prompt_data(prompt)
    assert data["skill_md"] == BODY_V1
    assert data["judge_reason"] == "the migration dropped a table"
    assert data["session_excerpt"].endswith(f"\nUSER: {REACTION}")
    assert data["edit_sets_already_tried"] == []


def test_same_edit_set_is_never_published_twice_and_history_reaches_the_proposer(store):
    """A second failure proposing the same edit set is a duplicate (no v3); the first attempt is
    recorded and shown to the proposer the second time."""
    append = json.dumps({"edits": [{"op": "append", "text": "Always take a backup first."}]})
    seed_skill(store)
    standard_session(store)
    first, _ = make(store, propose=Agent(append))
    assert improve(job(), first).status == "published"
    record = attempts.previous(REF)
    assert [(r["outcome"], r["version"]) for r in record] == [("published", 2)]

    propose = Agent(append)
    second, _ = make(store, propose=propose)
    outcome = improve(job(armed_version=2), second)
    assert outcome.status == "duplicate"
    assert versions(store) == [1, 2]
    tried = prompts.prompt_data(propose.calls[0][0])["edit_sets_already_tried"]
    assert tried == [[{"op": "append", "target": "", "text": "Always take a backup first."}]]
    assert len(attempts.previous(REF)) == 1

    different = Agent(json.dumps({"edits": [{"op": "append", "text": "Check the DB URL."}]}))
    third, _ = make(store, propose=different)
    assert improve(job(armed_version=2), third).status == "published"
    assert versions(store) == [1, 2, 3]


def test_already_improved_when_current_is_newer_than_armed(store):
    """If the skill moved past the version the session used, the run stops: nothing proposed."""
    seed_skill(store, version=1)
    seed_skill(store, version=2)
    standard_session(store)
    propose = Agent(EDITS)
    deps, _ = make(store, propose=propose)
    outcome = improve(job(armed_version=1), deps)
    assert (outcome.status, outcome.version) == ("already_improved", 2)
    assert propose.calls == []
    assert versions(store) == [1, 2]


def test_unknown_armed_version_still_improves(store):
    """A job without an armed version improves the current version (v2 -> v3)."""
    seed_skill(store, version=1)
    seed_skill(store, version=2)
    standard_session(store)
    deps, _ = make(store)
    assert improve(job(armed_version=None), deps).version == 3


@pytest.mark.parametrize(
    "reply, status",
    [
        (AgentError("agent CLI exited 1"), "proposer_failed"),
        ("no idea", "no_edits"),
        (json.dumps({"edits": [{"op": "replace", "target": "not in the body", "text": "x"}]}), "no_edits"),
    ],
)
def test_proposer_failure_or_no_applicable_edit_publishes_nothing(store, reply, status):
    """A failed proposer call, a reply without edits or edits that do not apply: no new version."""
    seed_skill(store)
    standard_session(store)
    deps, _ = make(store, propose=Agent(reply))
    assert improve(job(), deps).status == status
    assert versions(store) == [1]


def test_skill_missing_from_the_table(store):
    """A failure on a skill that is not in the skills table publishes nothing."""
    standard_session(store)
    deps, _ = make(store)
    assert improve(job(), deps).status == "skill_missing"


@pytest.mark.parametrize("ref", ["plugin:db", "../x--y", "noauthor"])
def test_bad_job_ref_queries_nothing(store, ref):
    """A job whose ref is not an org skill ref ends before any query or sleep."""
    lagging = LaggingStore(store)
    deps, sleeps = make(lagging)
    assert improve(job(skill=ref), deps).status == "bad_job"
    assert lagging.session_queries == 0 and sleeps == []


def test_job_from_dict_validates():
    """A job file needs session_id, skill and reaction strings; armed_version only if an int."""
    j = Job.from_dict({"session_id": "s", "skill": REF, "reaction": "r", "armed_version": "2", "user": None})
    assert (j.armed_version, j.user, j.tool_use_id) == (None, "", "")
    bad_jobs = ({}, {"session_id": "", "skill": REF, "reaction": "r"}, {"session_id": "s", "skill": 1, "reaction": "r"})
    for bad in bad_jobs:
        with pytest.raises(ValueError):
            Job.from_dict(bad)


def test_capped_reaction_is_not_repeated_in_the_window():
    """A reaction over 8000 characters reaches the worker capped; its full captured copy is still
    recognised and not repeated in the judge's window."""
    from lakeloop.skillopt import MAX_REACTION_CHARS
    from lakeloop.skillopt.worker import build_window
    from lakeloop.store.base import SessionRow

    def row(kind, **msg):
        return SessionRow(
            id="i",
            path="p",
            filename="f",
            message={"type": kind, **msg},
            author="a",
            size_bytes=0,
            project="",
            description="",
            agent="claude_code",
            plugin_version="0",
            creation_date="t",
            last_update_date="t",
        )

    long_prompt = "no, this is wrong. " * 1000
    reaction = long_prompt[:MAX_REACTION_CHARS]
    rows = [
        row("user_message", content="migrate"),
        row("tool_call", tool_name="Skill", tool_input='{"skill": "db--alice"}'),
        row("assistant_message", content="done"),
        row("user_message", content=long_prompt),
    ]
    window = build_window(rows, 1, reaction)
    assert window.endswith("\nUSER: " + reaction)
    assert "no, this is wrong." not in window[: -len("USER: " + reaction)]  # the full copy is gone
    assert "ASSISTANT: done" in window
