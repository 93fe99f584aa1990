"""Automatic rollback of a team skill version that made things worse (docs/skill-loop.md,
"Automatic rollback").

Rules under test:
* after writing outcome rows, the ``outcomes`` job publishes version c+1 with the body of c-1 when
  the current version c has at least ``LAKELOOP_ROLLBACK_MIN_USES`` uses and fails more often than
  c-1 by a one-sided Fisher exact test at 0.05 (2/12 vs 9/12: p = 0.0061); contributors end with
  ``[deciding user, "lakeloop-rollback"]`` and the figures are the description's note;
* never twice for the same evidence: a second run finds the rollback current and publishes nothing;
* not for a difference that is not significant (3/12 vs 4/12), below the minimum uses, with
  ``LAKELOOP_AUTO_ROLLBACK=0``, nor for a skill this machine pins;
* no oscillation: a rolled-back body is never the target of a rollback, and the optimizer ends
  ``duplicate`` instead of publishing (or holding) a body that was rolled back;
* teammates see the rollback at their next SessionStart, in ``skills history`` and ``skills stats``;
* the decision takes no skill lease (an optimizer holding it neither blocks nor defers it);
* a Deeplake insert whose answer is lost after the commit still stores each outcome row once.

The outcome rows go through spool files and the real ``outcomes`` job (``jobs.submit``, the real
runner and its ``jobs exec`` processes); the CLI and SessionStart run as subprocesses.
"""

from __future__ import annotations

import json
import logging
import os
import time

import pytest

from lakeloop.jobs.kinds import Context
from lakeloop.skillopt import outcomes, rollback
from lakeloop.skillopt.lease import SkillLease
from lakeloop.skillopt.versions import ROLLBACK, reason, rolled_back_bodies
from lakeloop.skillopt.worker import improve
from lakeloop.store.base import SkillRow
from tests.support import optimizer
from tests.support.cli import run_lakeloop
from tests.support.hooks import run_hook
from tests.support.jobs import runners_end as end_runners
from tests.support.logs import log_text
from tests.support.outcomes import run_outcomes_job, seed_outcomes, spool_outcomes, uses
from tests.support.payloads import first_payload

REF = "db-migrate--alice"
LOG = logging.getLogger("lakeloop-tests")
V1 = "---\nname: db-migrate\ndescription: Migrate.\n---\n1. Back up.\n2. Run `alembic upgrade head`.\n"
V2 = "---\nname: db-migrate\ndescription: Migrate.\n---\n1. Run `alembic upgrade head` at once.\n"
FIGURES = "v2 failed 9/12 uses (75%) vs v1 2/12 (17%), one-sided Fisher p = 0.0061"


@pytest.fixture(autouse=True)
def runners_end(monkeypatch):
    """A runner lingers one second; after the test no runner or job process of ours is left."""
    yield from end_runners(monkeypatch)


def _store():
    from lakeloop.store import open_store

    return open_store()


def _version(version: int, body: str, contributors: list[str], description: str = "Migrate.") -> SkillRow:
    when = f"2026-11-0{version}T00:00:00.000000Z"
    return SkillRow(
        id=f"v{version}",
        name="db-migrate",
        author="alice",
        body=body,
        version=version,
        scope="team",
        contributors=contributors,
        source_sessions=["s-origin"],
        description=description,
        created_at=when,
        updated_at=when,
    )


def _two_versions(store) -> None:
    """v1 pushed by alice, v2 published by the optimizer from bob's session."""
    store.insert_skill(_version(1, V1, ["alice"]))
    store.insert_skill(_version(2, V2, ["alice", "bob", "lakeloop-skillopt"], "Migrate.\n[lakeloop-skillopt] slow"))


def _team(store) -> list[SkillRow]:
    return [r for r in store.skill_rows("db-migrate", "alice") if r.scope != "proposal"]


def _decide(v1: tuple[int, int], v2: tuple[int, int], **env) -> tuple[str, list[SkillRow]]:
    """v1 and v2 in the store, ``v1``/``v2`` = (failures, uses) spooled, the outcomes job run;
    returns its outcome and the team rows after it."""
    with _store() as store:
        _two_versions(store)
    spool_outcomes(REF, uses(1, *v1, "a") + uses(2, *v2, "b"))
    row = run_outcomes_job([REF], LOG)
    with _store() as store:
        return row.outcome, _team(store)


@pytest.mark.parametrize("store_kind", ["deeplake"], indirect=True)
def test_regressed_version_rolled_back_once(store_kind, tmp_path, monkeypatch):
    """v1 2/12 failures, v2 9/12: v3 is published with v1's body, contributors ending with the
    deciding user and ``lakeloop-rollback``, the figures as its reason. A second run publishes
    nothing (no v4). A teammate (another HOME on the same store) sees the change line at their
    next SessionStart; ``skills history`` and ``skills stats`` name the rollback."""
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_VISIBILITY_WAIT_S", "0.3")
    teammate = {
        "HOME": str(tmp_path / "carol" / "home"),
        "LAKELOOP_DATA_DIR": str(tmp_path / "carol" / "data"),
        "LAKELOOP_LOG_DIR": str(tmp_path / "carol" / "log"),
        "LAKELOOP_SKILLS_DIR": str(tmp_path / "carol" / "skills"),
        "LAKELOOP_USER": "carol",
    }
    with _store() as store:
        _two_versions(store)
    first = run_hook("SessionStart", first_payload("SessionStart"), text=True, **teammate)
    assert f"{REF} v2 (lakeloop-skillopt, from bob's session)" in first.stdout

    spool_outcomes(REF, uses(1, 2, 12, "a") + uses(2, 9, 12, "b"))
    assert run_outcomes_job([REF], LOG).outcome == f"written:24 rolled_back:{REF}"
    with _store() as store:
        rows = _team(store)
    assert [r.version for r in rows] == [1, 2, 3]
    v3 = rows[-1]
    assert v3.body == V1
    assert v3.contributors == ["alice", "bob", "lakeloop-skillopt", "tester", ROLLBACK]
    assert reason(v3.description) == FIGURES
    assert v3.description == "Migrate.\n[lakeloop-rollback] " + FIGURES
    assert f"outcomes outcome=rolled_back ref={REF} v2 -> v3 (body of v1) p=0.0061" in log_text()

    assert run_outcomes_job([REF], LOG).outcome == "written:0"  # the same evidence again
    with _store() as store:
        assert [r.version for r in _team(store)] == [1, 2, 3]
    assert f"outcomes outcome=no_rollback ref={REF} v2's body was rolled back before (v2)" in log_text()

    shown = run_hook("SessionStart", first_payload("SessionStart"), text=True, **teammate).stdout
    message = json.loads(shown)["systemMessage"]
    assert message == (
        f"{REF} v3 (lakeloop-rollback, decided on tester's machine): +2 -1 lines; lakeloop skills diff {REF}"
    )

    history = json.loads(run_lakeloop("skills", "history", REF, "--json", **teammate).stdout)["versions"]
    assert [(v["version"], v["publisher_kind"], v["current"]) for v in history] == [
        (1, "push", False),
        (2, "optimizer", False),
        (3, "rollback", True),
    ]
    assert history[-1]["reason"] == FIGURES and history[-1]["same_as"] == 1
    text = run_lakeloop("skills", "history", REF, **teammate).stdout
    assert "lakeloop-rollback, decided on tester's machine" in text

    stats = json.loads(run_lakeloop("skills", "stats", REF, "--json", **teammate).stdout)
    assert [(s["version"], s["uses"], s["failures"], s["publisher_kind"]) for s in stats] == [
        (1, 12, 2, "push"),
        (2, 12, 9, "optimizer"),
        (3, 0, 0, "rollback"),
    ]
    assert stats[-1]["publisher"] == "lakeloop-rollback, decided on tester's machine"
    assert stats[-1]["reason"] == FIGURES


def test_not_significant_difference_not_rolled_back():
    """3/12 vs 4/12 (one-sided Fisher p = 0.50): nothing published, the reason logged."""
    outcome, rows = _decide((3, 12), (4, 12))
    assert outcome == "written:24" and [r.version for r in rows] == [1, 2]
    assert "v2 failed 4/12 uses, v1 3/12: not significant (one-sided Fisher p = 0.50 >= 0.05)" in log_text()


def test_below_min_uses_not_rolled_back(monkeypatch):
    """v2 failed 9 of 9 uses, v1 none of 12; with LAKELOOP_ROLLBACK_MIN_USES=10 v2 has too few uses."""
    monkeypatch.setenv("LAKELOOP_ROLLBACK_MIN_USES", "10")
    outcome, rows = _decide((0, 12), (9, 9))
    assert outcome == "written:21" and [r.version for r in rows] == [1, 2]
    assert "too few uses of v2 to decide (10 needed)" in log_text()


def test_auto_rollback_off(monkeypatch):
    """LAKELOOP_AUTO_ROLLBACK=0: the outcomes are written, nothing is rolled back."""
    monkeypatch.setenv("LAKELOOP_AUTO_ROLLBACK", "0")
    outcome, rows = _decide((2, 12), (9, 12))
    assert outcome == "written:24" and [r.version for r in rows] == [1, 2]
    assert f"outcomes outcome=off ref={REF} LAKELOOP_AUTO_ROLLBACK=0" in log_text()
    with _store() as store:
        assert len(store.outcome_uses(REF)) == 24


def test_pin_blocks_rollback():
    """``lakeloop skills pin REF 2`` on this machine: the regressed v2 is not rolled back from here."""
    with _store() as store:
        _two_versions(store)
    pinned = run_lakeloop("skills", "pin", REF, "2")
    assert pinned.returncode == 0, pinned.stderr
    spool_outcomes(REF, uses(1, 2, 12, "a") + uses(2, 9, 12, "b"))
    assert run_outcomes_job([REF], LOG).outcome == f"written:24 pinned:{REF}"
    with _store() as store:
        assert [r.version for r in _team(store)] == [1, 2]
    assert f"outcomes outcome=pinned ref={REF} this machine pins v2" in log_text()


def test_rolled_back_body_never_restored():
    """v3 rolled v2 back to v1's body; v3 then fails far more often than v2 did: v2's body is
    never published again (it was rolled back), so nothing happens."""
    with _store() as store:
        _two_versions(store)
        store.insert_skill(_version(3, V1, ["alice", "bob", "lakeloop-skillopt", "carol", ROLLBACK]))
        assert len(rolled_back_bodies(_team(store))) == 1
    spool_outcomes(REF, uses(2, 0, 12, "b") + uses(3, 12, 12, "c"))
    assert run_outcomes_job([REF], LOG).outcome == "written:24"
    with _store() as store:
        assert [r.version for r in _team(store)] == [1, 2, 3]
    assert "v2's body was rolled back before (v2); a rolled-back body is never restored" in log_text()


def test_previous_version_with_the_same_body_is_no_target():
    """alice pushed v2's body again as v3; v3 then fails more often than v2: rolling back to the
    body v3 already has would change nothing, so nothing is published."""
    with _store() as store:
        _two_versions(store)
        store.insert_skill(_version(3, V2, ["alice", "bob", "lakeloop-skillopt", "alice"]))
    spool_outcomes(REF, uses(2, 2, 12, "b") + uses(3, 9, 12, "c"))
    assert run_outcomes_job([REF], LOG).outcome == "written:24"
    with _store() as store:
        assert [r.version for r in _team(store)] == [1, 2, 3]
    assert f"outcomes outcome=no_rollback ref={REF} v2 has v3's body" in log_text()


@pytest.mark.parametrize("review", ["auto", "all"])
def test_optimizer_does_not_republish_a_rolled_back_body(review):
    """v2 (an optimizer edit) was rolled back by v3; a later failure makes the proposer rebuild
    exactly v2's body: the worker ends ``duplicate`` naming v2, publishes nothing and holds no
    proposal (``LAKELOOP_SKILL_REVIEW=all`` would otherwise hold it)."""
    from lakeloop.skillopt.edits import apply_edits
    from lakeloop.skillopt.parse import Edit

    with _store() as store:
        optimizer.seed_skill(store)
        v2 = apply_edits(optimizer.BODY_V1, [Edit(**optimizer.PLAIN_EDIT)]).body
        optimizer.seed_skill(store, 2, v2, contributors=["alice", "bob", "lakeloop-skillopt"])
        optimizer.seed_skill(
            store, 3, optimizer.BODY_V1, contributors=["alice", "bob", "lakeloop-skillopt", "carol", ROLLBACK]
        )
        optimizer.Session(store).standard()
        out = improve(optimizer.job(armed_version=3), optimizer.make_deps(store, review=review))
        assert out.status == "duplicate"
        assert out.reason == f"{REF}: the new body is identical to version 2, which was rolled back; not published"
        assert optimizer.team_versions(store) == [1, 2, 3] and optimizer.proposals(store) == []


def test_the_decision_takes_no_skill_lease():
    """Another process of this machine holds the skill's lease (an optimizer run): the decision
    neither waits for it nor takes it (a reaction whose job found the lease held would go
    unjudged); it rolls back at once, and the holder keeps its lease."""
    import subprocess
    import sys

    from tests.support.repo import PLUGIN_SRC

    with _store() as store:
        _two_versions(store)
        seed_outcomes(store, REF, uses(1, 2, 12, "a") + uses(2, 9, 12, "b"))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\nfrom lakeloop.skillopt.lease import SkillLease\n"
            f"with SkillLease({REF!r}) as lease:\n    print(lease.acquired, flush=True)\n    sys.stdin.readline()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PLUGIN_SRC)},
    )
    try:
        assert holder.stdout.readline() == "True\n"
        with _store() as store:
            [result] = rollback.decide_all(store, [REF], False, LOG)
            assert (result.status, result.version) == ("rolled_back", 3)
            assert [r.version for r in _team(store)] == [1, 2, 3]
        assert not SkillLease(REF).acquire()  # still the holder's
        holder.communicate("go\n", timeout=30)
    finally:
        if holder.poll() is None:
            holder.kill()


def test_written_rows_are_waited_for_once():
    """A run that wrote rows sleeps the store's visibility wait once before deciding, whatever
    the number of skills; a run that wrote nothing does not sleep."""

    class Lagging:
        visibility_wait_s = 2.5

        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, name):
            return getattr(self.inner, name)

    with _store() as store:
        _two_versions(store)
        sleeps: list[float] = []
        rollback.decide_all(Lagging(store), [REF, "other--alice"], True, LOG, sleeps.append)
        assert sleeps == [2.5]
        sleeps.clear()
        rollback.decide_all(Lagging(store), [REF], False, LOG, sleeps.append)
        assert sleeps == []


@pytest.mark.parametrize("store_kind", ["deeplake"], indirect=True)
def test_outcome_insert_answer_lost_after_commit_stores_each_row_once(store_kind, deeplake, monkeypatch):
    """The Deeplake answer to the second outcome INSERT is a 500 sent after the row was committed:
    the store looks the id up before sending it again, so the job writes each of the three rows
    exactly once; a retried attempt (``attempt`` 2: ids looked up first) holding the same spool
    files adds nothing."""
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_VISIBILITY_WAIT_S", "0.3")
    with _store() as store:
        _two_versions(store)
    before = deeplake.inserts_committed
    deeplake.configure(after_commit_fail_sequence=[None, True])
    rows = spool_outcomes(REF, uses(2, 1, 3, "b"))
    assert run_outcomes_job([REF], LOG).outcome == "written:3"
    assert deeplake.after_commit_failed == 1 and deeplake.inserts_committed - before == 3
    with _store() as store:
        stored = store.outcome_uses(REF)
    assert sorted((u.use, u.rows) for u in stored) == sorted((r.path.split("/")[-1][:-5], 1) for r in rows)
    assert not list(outcomes.spool_dir().glob("*.json"))
    # the same rows again, as a retried attempt finds them when the first died before unlinking
    spool_outcomes(REF, uses(2, 1, 3, "b"))
    retried = Context(job_id=1, key=outcomes.KIND, attempt=2, max_attempts=5, log=LOG, deadline=time.time() + 60)
    assert outcomes.run({"refs": [REF]}, retried) == "written:3"
    with _store() as store:
        assert sorted((u.use, u.rows) for u in store.outcome_uses(REF)) == sorted((u.use, 1) for u in stored)


def test_store_down_before_writing_brings_the_job_back(monkeypatch):
    """The store does not answer the job's probe (``store_wait.probe_store``, the skill-improve
    job's): with a fresh outcome waiting, ``RetryLater`` (no attempt spent) and the spool kept;
    once the oldest outcome waited longer than ``STORE_WAIT_S``, the run ends ``store_error``,
    the spool still on disk for the next run."""
    from lakeloop.jobs import RetryLater
    from lakeloop.skillopt.store_wait import STORE_WAIT_S

    for key, value in (("TOKEN", "t"), ("ORG_ID", "o"), ("WORKSPACE", "w"), ("API_URL", "http://127.0.0.1:9")):
        monkeypatch.setenv(f"LAKELOOP_DEEPLAKE_{key}", value)
    monkeypatch.setenv("LAKELOOP_STORE", "deeplake")
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_RETRIES", "0")
    import lakeloop.deeplake.client as client_module

    monkeypatch.setattr(client_module, "_shared", None)
    [row] = spool_outcomes(REF, uses(2, 1, 1, "b"))
    ctx = Context(job_id=1, key=outcomes.KIND, attempt=1, max_attempts=5, log=LOG, deadline=time.time() + 60)
    with pytest.raises(RetryLater):
        outcomes.run({"refs": [REF]}, ctx)
    spooled = outcomes.spool_dir() / f"{row.id}.json"
    old = time.time() - STORE_WAIT_S - 60
    os.utime(spooled, (old, old))
    assert outcomes.run({"refs": [REF]}, ctx) == "store_error"
    assert spooled.exists()
