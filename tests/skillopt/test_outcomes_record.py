"""Recording skill outcomes: each judgment of a use becomes one memory row under ``/outcomes/``,
written by the ``outcomes`` job from a spool file (never by a hook).

The session runs through ``hooks/run`` (real subprocesses, the recorded Claude Code payloads); the
judge is a scripted agent CLI (``LAKELOOP_CLAUDE_BIN``); the job runner and its ``jobs exec``
processes are real; ``lakeloop skills stats`` runs as the CLI does.
"""

from __future__ import annotations

import json
import logging

import pytest

from lakeloop import paths
from lakeloop.skillopt import outcomes, pending
from lakeloop.skillopt.parse import parse_verdict
from lakeloop.skillopt.publish import push
from lakeloop.skillopt.pull import pull
from lakeloop.skillopt.worker import improve
from lakeloop.store.embedded import EmbeddedStore
from tests.support import optimizer
from tests.support.cli import run_lakeloop
from tests.support.fake_agent_cli import fake_cli
from tests.support.hooks import run_hook
from tests.support.jobs import runners_end as end_runners
from tests.support.jobs import wait_state
from tests.support.payloads import recorded_payloads
from tests.support.waiting import wait_until

REF = "db-migrate--alice"
LOG = logging.getLogger("lakeloop-tests")
#: a GitHub token the judge's reason carries: the row must hold it redacted
PLANTED = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


@pytest.fixture(autouse=True)
def runners_end(monkeypatch):
    """A runner lingers one second; after the test no runner or job process of ours is left."""
    yield from end_runners(monkeypatch)


def _judge_body(reply: dict) -> str:
    """A fake Claude Code CLI body answering every call with ``reply`` as the result text."""
    return f"print(json.dumps({{'type': 'result', 'is_error': False, 'result': {json.dumps(json.dumps(reply))}}}))"


@pytest.fixture
def store(tmp_path, monkeypatch) -> EmbeddedStore:
    """Skill v1 pushed and pulled on this machine; a scripted judge that says the use failed."""
    d = tmp_path / "authoring" / "db-migrate"
    d.mkdir(parents=True)
    (d / "SKILL.md").write_text("---\nname: db-migrate\n---\n1. Run `alembic upgrade head`.\n")
    push(d, name="db-migrate", author="alice")
    st = EmbeddedStore(paths.store_file())
    pull(st, LOG)
    reply = {"success": 0, "confidence": 0.9, "reason": f"the table was dropped;\n token {PLANTED} leaked"}
    monkeypatch.setenv("LAKELOOP_CLAUDE_BIN", str(fake_cli(tmp_path / "judge", "claude", _judge_body(reply))))
    monkeypatch.setenv("LAKELOOP_INVOCATION_BACKOFF_S", "0.05")
    monkeypatch.setenv("LAKELOOP_SUMMARIES", "0")
    return st


def _rows(st: EmbeddedStore) -> list[dict]:
    """Every memory row under ``/outcomes/`` (id, path, author, agent, description, summary)."""
    got = st._run(
        "SELECT id, path, author, agent, description, summary FROM memory WHERE path LIKE '/outcomes/%' ORDER BY id"
    )
    return [dict(zip(("id", "path", "author", "agent", "description", "summary"), r, strict=True)) for r in got]


def _judged(st: EmbeddedStore) -> list[dict]:
    return [r for r in _rows(st) if "verdict=no_pushback" not in r["description"]]


def _no_pushback(st: EmbeddedStore) -> list[dict]:
    return [r for r in _rows(st) if "verdict=no_pushback" in r["description"]]


def _outcomes_done() -> None:
    wait_state("outcomes", "done", 120, kind="outcomes")


def test_judged_use_records_one_outcome_with_armed_version(store):
    """The recorded session through ``hooks/run`` (Skill loaded at v1, then the user's pushback):
    one outcome row with the armed version, user, agent, session, verdict and the judge's reason on
    one line with the planted token redacted; no reaction text; ``skills stats --json`` counts it."""
    payloads = recorded_payloads()
    for payload in payloads:
        run_hook(payload["hook_event_name"], payload, LAKELOOP_USER="bob")
    wait_until(lambda: _judged(store) or None, 120, "the judged outcome row")
    _outcomes_done()
    # the recorded session ends (SessionEnd) before it is resumed and the user pushes back: the
    # unspent window gave a no_pushback row first; the judgment of the same use outranks it
    use = outcomes.use_id_of({"session_id": payloads[2]["session_id"], "tool_use_id": "toolu_0001_Skill"})
    path = f"/outcomes/{REF}/{use}.json"
    assert sorted((r["path"], r["description"]) for r in _rows(store)) == [
        (path, "lakeloop-outcome v=1 verdict=failure"),
        (path, "lakeloop-outcome v=1 verdict=no_pushback"),
    ]
    [row] = _judged(store)
    assert row["description"] == "lakeloop-outcome v=1 verdict=failure"
    assert (row["author"], row["agent"]) == ("bob", "claude_code")
    summary = json.loads(row["summary"])
    assert (summary["version"], summary["verdict"], summary["user"], summary["session"]) == (
        1,
        "failure",
        "bob",
        payloads[2]["session_id"],
    )
    assert PLANTED not in row["summary"] and "[REDACTED:" in summary["reason"]
    assert summary["reason"].startswith("the table was dropped; token ")
    assert "dropped my table" not in row["summary"]  # the user's reaction is never stored
    assert not list(outcomes.spool_dir().glob("*.json"))  # each spool file removed after its write
    stats = json.loads(run_lakeloop("skills", "stats", REF, "--json").stdout)
    assert [(s["version"], s["uses"], s["failures"]) for s in stats] == [(1, 1, 1)]


def test_replayed_and_redrained_reaction_records_one_outcome(store):
    """The same judgment spooled again (a replayed reaction, a re-run job) and the outcomes job
    run again, the second time as a retried attempt would (``unsure``): still one row."""
    job = optimizer.job(event_id="0a1b2c3d-0001", use_id="u" * 32, armed_version=1, armed_at=1_700_000_000.0)
    verdict = parse_verdict('{"success": 0, "confidence": 0.9, "reason": "broke it"}')
    first = outcomes.record_judged(job, verdict, LOG)
    assert outcomes.record_judged(job, verdict, LOG) == first  # one spool file, same id
    _outcomes_done()
    outcomes.record_judged(job, verdict, LOG)
    assert outcomes.submit([REF], LOG) in ("merged", "rerun", "new")
    wait_until(lambda: not list(outcomes.spool_dir().glob("*.json")), 120, "the spool to be written")
    _outcomes_done()
    assert [r["id"] for r in _rows(store)] == [first]
    assert _rows(store)[0]["description"] == "lakeloop-outcome v=1 verdict=failure"


@pytest.mark.parametrize(
    ("reply", "label"),
    [
        ("not json at all", "unclear"),
        ('{"success": 0, "confidence": 0.2, "reason": "maybe"}', "unclear"),
        (None, "unclear"),  # the judge call failed (AgentError)
        ('{"success": 1, "confidence": 0.8, "reason": "fine"}', "success"),
        ('{"success": 0, "confidence": 0.9, "reason": "broke"}', "failure"),
    ],
)
def test_unclear_for_unparseable_and_low_confidence_and_failed_judge(reply, label):
    """Each judgment reaches ``record`` once with its label; the improvement still treats anything
    but a clear failure as a success."""
    from lakeloop.errors import AgentError
    from lakeloop.store.embedded import EmbeddedStore

    st = EmbeddedStore(paths.store_file())
    optimizer.seed_skill(st)
    optimizer.Session(st).standard()

    def judge(prompt: str, system: str) -> str:
        if reply is None:
            raise AgentError("judge timed out")
        return reply

    seen: list = []
    deps = optimizer.make_deps(st, judge=judge, record=lambda job, verdict: seen.append(verdict.label))
    out = improve(optimizer.job(), deps)
    assert seen == [label]
    assert (out.status == "judged_success") == (label != "failure")


def test_no_outcome_when_nothing_was_judged():
    """A job whose invocation is never found was not judged: nothing is recorded."""
    st = EmbeddedStore(paths.store_file())
    optimizer.seed_skill(st)
    seen: list = []
    out = improve(optimizer.job(), optimizer.make_deps(st, record=lambda job, verdict: seen.append(verdict)))
    assert out.status == "invocation_not_found" and seen == []


def test_a_failing_record_never_stops_the_improvement():
    """``record`` raising is one log line; the worker goes on to its own outcome."""
    st = EmbeddedStore(paths.store_file())
    optimizer.seed_skill(st)
    optimizer.Session(st).standard()

    def broken(job, verdict):
        raise OSError("disk full")

    out = improve(optimizer.job(), optimizer.make_deps(st, record=broken))
    assert out.status == "published"


def test_arming_mints_one_use_id_per_tool_call():
    """A PreToolUse fired twice for one tool call is one use; another tool call is another."""
    a = pending.arm("s1", REF, "toolu_1", 3, 2, "codex")
    b = pending.arm("s1", REF, "toolu_1", 3, 2, "codex")
    c = pending.arm("s1", REF, "toolu_2", 3, 2)
    assert a["use_id"] == b["use_id"] != c["use_id"]
    assert (a["version"], a["agent"], c["agent"]) == (2, "codex", "claude_code")
    assert len(a["use_id"]) == 32 and outcomes.use_id_of({k: v for k, v in a.items() if k != "use_id"}) == a["use_id"]


def _skill_call(tool_use_id: str) -> dict:
    payload = next(p for p in recorded_payloads() if p.get("tool_use_id") == "toolu_0001_Skill")
    return {**payload, "tool_use_id": tool_use_id}


def test_no_pushback_when_session_ends_without_a_prompt(store):
    """Skill loaded, the session ends with no further prompt (``hooks/run`` SessionEnd); the next
    captured event's drainer sweeps the closed window: one ``no_pushback`` row with the armed
    version, user and agent, no reason; no model call."""
    payloads = recorded_payloads()
    for payload in payloads[:12]:  # the first turn up to its SessionEnd
        run_hook(payload["hook_event_name"], payload, LAKELOOP_USER="carol")
    run_hook("UserPromptSubmit", {**payloads[1], "session_id": "next-session"})  # its drainer sweeps
    [row] = wait_until(lambda: _no_pushback(store) or None, 120, "the no_pushback row")
    _outcomes_done()
    assert row["description"] == "lakeloop-outcome v=1 verdict=no_pushback"
    summary = json.loads(row["summary"])
    assert (summary["user"], summary["agent"], summary["reason"], summary["event"]) == (
        "carol",
        "claude_code",
        "",
        "",
    )
    assert row["id"] == outcomes.row_id(summary["use"], "closed")
    assert _judged(store) == [] and not (outcomes.spool_dir().parent.parent / "judge" / "calls.jsonl").exists()
    assert not list(pending.closed_dir().glob("*.json"))
    stats = json.loads(run_lakeloop("skills", "stats", REF, "--json").stdout)
    assert [(s["version"], s["uses"], s["no_pushback"]) for s in stats] == [(1, 1, 1)]


def test_no_pushback_when_a_newer_use_replaces_an_unspent_window(store):
    """Two loads of the skill with no prompt between: the first use closes as ``no_pushback``
    (swept at the end of the drainer the next captured event starts); the second stays open."""
    sid = recorded_payloads()[2]["session_id"]
    run_hook("PreToolUse", _skill_call("toolu_first"))
    run_hook("PreToolUse", _skill_call("toolu_second"))
    post = next(p for p in recorded_payloads() if p["hook_event_name"] == "PostToolUse")
    run_hook("PostToolUse", {**post, "tool_use_id": "toolu_second"})  # captured: its drainer sweeps at its end
    first = outcomes.use_id_of({"session_id": sid, "tool_use_id": "toolu_first"})
    [row] = wait_until(lambda: _no_pushback(store) or None, 120, "the first use's no_pushback row")
    assert row["path"] == f"/outcomes/{REF}/{first}.json"
    assert pending.peek(sid)["tool_use_id"] == "toolu_second"
    run_hook("PreToolUse", _skill_call("toolu_second"))  # the same tool call again: the same use
    _outcomes_done()
    assert len(_rows(store)) == 1


def test_spent_window_closed_at_session_end_adds_no_no_pushback(store):
    """A prompt spent the window (judged); the session then ends: no ``no_pushback`` row."""
    payloads = recorded_payloads()
    for payload in payloads[:11]:  # the first turn, without its SessionEnd
        run_hook(payload["hook_event_name"], payload)
    run_hook("UserPromptSubmit", payloads[13])  # the reaction, in the same session
    wait_until(lambda: _judged(store) or None, 120, "the judged outcome row")
    run_hook("SessionEnd", payloads[11])
    assert not list(pending.closed_dir().glob("*.json"))
    _outcomes_done()
    assert [r["description"] for r in _rows(store)] == ["lakeloop-outcome v=1 verdict=failure"]


def test_stale_window_closed_by_drain_sweep(store):
    """A window armed more than 12 h before the sweep (a session that never ended) is closed:
    removed, and recorded as ``no_pushback``; a younger one is left open."""
    import time

    pending.arm("old-session", REF, "toolu_old", 3, 1, "claude_code", "dave")
    pending.arm("new-session", REF, "toolu_new", 3, 1, "claude_code", "dave")
    assert outcomes.sweep(LOG, stale=True, now=time.time() + outcomes.WINDOW_MAX_AGE_S - 60) == 0
    assert outcomes.sweep(LOG, stale=True, now=time.time() + outcomes.WINDOW_MAX_AGE_S + 60) == 2
    assert pending.peek("old-session") is None
    assert pending.peek("new-session") is None
    rows = wait_until(lambda: len(_no_pushback(store)) == 2 and _no_pushback(store), 120, "two no_pushback rows")
    assert {r["author"] for r in rows} == {"dave"}
