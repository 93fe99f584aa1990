"""Thirty uses of a team skill across two versions, end to end: every use goes through
``hooks/run`` (the skill loaded in PreToolUse/PostToolUse, then the user's prompt, or the
session's end with no prompt), the drainer, the ``skill-improve`` job with a scripted judge, and
the ``outcomes`` job; ``lakeloop skills stats --json`` then gives the figures computed by hand.

The judge is a fake Claude Code CLI that answers the verdict the reaction names
(``VERDICT-failure``, ``VERDICT-success``, ``VERDICT-unclear`` for an unreadable reply); the
proposer's call fails, so no version is published by the optimizer.
"""

from __future__ import annotations

import json
import logging

import pytest

from lakeloop import paths
from lakeloop.skillopt.publish import push
from lakeloop.skillopt.pull import pull
from lakeloop.store.embedded import EmbeddedStore
from tests.support.cli import run_lakeloop
from tests.support.fake_agent_cli import fake_cli
from tests.support.hooks import run_hook
from tests.support.jobs import runners_end as end_runners
from tests.support.payloads import first_payload
from tests.support.waiting import wait_until

REF = "db-migrate--alice"
LOG = logging.getLogger("lakeloop-tests")

#: The judge answers the verdict named in the reaction; the proposer (its system prompt asks
#: for edits) fails, so nothing is published.
JUDGE_BODY = """
import re
text = data + " ".join(argv)
if '"edits"' in text:
    print(json.dumps({"type": "result", "is_error": True, "result": "no proposer here"}))
    sys.exit(1)
found = re.search(r"VERDICT-(failure|success|unclear)", text)
verdict = found.group(1) if found else "unclear"
reply = {
    "failure": json.dumps({"success": 0, "confidence": 0.9, "reason": "the migration failed"}),
    "success": json.dumps({"success": 1, "confidence": 0.9, "reason": "done"}),
    "unclear": "I cannot tell",
}[verdict]
print(json.dumps({"type": "result", "is_error": False, "result": reply}))
"""

#: (failures, successes, unclear, no_pushback) of each version: 15 uses each.
PLAN = {1: (3, 9, 2, 1), 2: (6, 6, 1, 2)}


@pytest.fixture(autouse=True)
def runners_end(monkeypatch):
    """A runner lingers one second; after the test no runner or job process of ours is left."""
    yield from end_runners(monkeypatch, timeout=60)


def _push(tmp_path, body: str) -> None:
    d = tmp_path / "authoring" / "db-migrate"
    d.mkdir(parents=True, exist_ok=True)
    (d / "SKILL.md").write_text(f"---\nname: db-migrate\n---\n{body}\n")
    push(d, name="db-migrate", author="alice")


def _use(n: int, ending: str) -> None:
    """Use number ``n`` in a session of its own: the Skill tool call, then ``ending`` (a verdict
    named in the user's next prompt, or ``no_pushback``: the session ends with no prompt)."""
    sid = f"5e55{n:04d}-0000-4000-8000-000000000000"
    for event in ("PreToolUse", "PostToolUse"):
        payload = first_payload(event, "Skill")
        run_hook(event, {**payload, "session_id": sid, "tool_use_id": f"toolu_{n:04d}_Skill"})
    if ending == "no_pushback":
        run_hook("SessionEnd", {**first_payload("SessionEnd"), "session_id": sid})
    else:
        prompt = f"that is not what I asked for VERDICT-{ending}"
        run_hook("UserPromptSubmit", {**first_payload("UserPromptSubmit"), "session_id": sid, "prompt": prompt})


def _outcome_rows(st: EmbeddedStore) -> int:
    return st._run("SELECT COUNT(*) FROM memory WHERE path LIKE '/outcomes/%'")[0][0]


def test_thirty_uses_across_two_versions_give_the_stats_computed_by_hand(tmp_path, monkeypatch):
    monkeypatch.setenv("LAKELOOP_CLAUDE_BIN", str(fake_cli(tmp_path / "judge", "claude", JUDGE_BODY)))
    monkeypatch.setenv("LAKELOOP_JUDGE_WINDOW", "1")
    monkeypatch.setenv("LAKELOOP_INVOCATION_BACKOFF_S", "0.2")
    monkeypatch.setenv("LAKELOOP_SUMMARIES", "0")
    monkeypatch.setenv("LAKELOOP_SKILLIFY_EVERY_HOURS", "0")
    _push(tmp_path, "1. Run `alembic upgrade head`.")
    st = EmbeddedStore(paths.store_file())
    pull(st, LOG)
    n = 0
    for version, counts in PLAN.items():
        if version == 2:
            _push(tmp_path, "1. Run `alembic upgrade head`.\n2. Then drop the old tables.")
            pull(st, LOG)
        for ending, times in zip(("failure", "success", "unclear", "no_pushback"), counts, strict=True):
            for _ in range(times):
                n += 1
                _use(n, ending)
    run_hook("UserPromptSubmit", {**first_payload("UserPromptSubmit"), "session_id": "after-all"})  # a last sweep
    wait_until(
        lambda: _outcome_rows(st) == 30 or None,
        180,
        "30 outcome rows",
        explain=lambda: f"{_outcome_rows(st)} rows; log:\n" + paths.log_file().read_text()[-4000:],
    )
    stats = json.loads(run_lakeloop("skills", "stats", REF, "--json").stdout)
    got = {
        s["version"]: (s["uses"], s["failures"], s["successes"], s["unclear"], s["no_pushback"], s["failure_rate"])
        for s in stats
    }
    assert got == {1: (15, 3, 9, 2, 1, 0.2), 2: (15, 6, 6, 1, 2, 0.4)}
    intervals = {s["version"]: (round(s["ci_low"], 4), round(s["ci_high"], 4)) for s in stats}
    assert intervals == {1: (0.0705, 0.4519), 2: (0.1982, 0.6425)}  # 95 % Wilson, by hand
    assert [s["publisher"] for s in stats] == ["alice", "alice"]
    # 6/15 against 3/15 is not significant (one-sided Fisher p = 0.21): nothing rolled back
    assert [r[0] for r in st._run("SELECT version FROM skills WHERE scope = 'team' ORDER BY version")] == [1, 2]
